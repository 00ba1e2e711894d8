// What the page knows of the UPSes, kept current by the event stream.
//
// /api/v1/events starts with a snapshot of every UPS and then tells each
// change as it happens, so the page never polls.  After a reconnect (the
// browser reconnects by itself) or a resync (the page fell behind), a new
// snapshot replaces everything.  Views watch() for changes:
//   {kind: "snapshot"}                       everything may have changed
//   {kind: "status"|"variable"|"clients", ups, data}   one UPS changed
//   {kind: "ups", ups}                       one UPS was read again whole
//   {kind: "removed", ups}
//   {kind: "log", entry}                     a new entry of the event log
//   {kind: "connection"}                     stream.live changed

import {fetchUps, log as fetchLog} from "./api.js";

export const upses = new Map();  // name -> the UPS as /api/v1/ups/{name} shows it
export const stream = {live: false, snapshots: 0};
const watchers = new Set();

export function watch(watcher) {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}

function tell(change) {
  for (const watcher of [...watchers]) watcher(change);
}

export function findUps(name) {
  const folded = name.toLowerCase();
  for (const ups of upses.values()) if (ups.name.toLowerCase() === folded) return ups;
  return null;
}

// Reading a UPS again whole, when an event says more changed than it carries
// (a new variable, new commands, who is logged in).  One read at a time per
// UPS; asked again meanwhile, it reads once more after.
const rereading = new Map();  // name -> asked again while reading

async function reread(name) {
  if (rereading.has(name)) {
    rereading.set(name, true);
    return;
  }
  do {
    rereading.set(name, false);
    const answer = await fetchUps(name);
    if (answer.ok) {
      upses.set(answer.body.name, answer.body);
      tell({kind: "ups", ups: answer.body.name});
    } else if (answer.status === 404 && upses.delete(name)) {
      tell({kind: "removed", ups: name});
    }
  } while (rereading.get(name));
  rereading.delete(name);
}

// Each applies one event to its UPS and says what kind of change it was.
const APPLY = {
  status(ups, data) {
    ups.status = data.new;
    ups.status_changed = data.at;
    return "status";
  },
  availability(ups, data) {
    ups.availability = data.new;
    ups.stale = data.new !== "OK";
    return "status";
  },
  fsd(ups) {
    ups.fsd = true;
    return "status";
  },
  variable(ups, data) {
    const known = ups.variables[data.name];
    if (data.new === null) {
      delete ups.variables[data.name];
    } else if (known) {
      known.value = data.new;
    } else {
      reread(ups.name);  // its type, description and limits are not in the event
      return null;
    }
    return "variable";
  },
  clients(ups, data) {
    ups.numlogins = data.count;
    reread(ups.name);  // for the addresses
    return "clients";
  },
  capabilities(ups) {
    reread(ups.name);
    return null;
  },
};

function setLive(live) {
  if (stream.live !== live) {
    stream.live = live;
    tell({kind: "connection"});
  }
}

// The stream is closed when the page is left, and opened again if the browser
// brings the page back from its cache: a stream left open would hold one of
// the few connections a browser opens to a server until the server drops it.
export function connect() {
  let source = open();
  window.addEventListener("pagehide", () => source.close());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) source = open();
  });
}

function open() {
  const source = new EventSource("/api/v1/events");
  source.addEventListener("open", () => setLive(true));
  source.addEventListener("error", () => setLive(source.readyState === EventSource.OPEN));
  source.addEventListener("snapshot", (event) => {
    upses.clear();
    for (const ups of JSON.parse(event.data).ups) upses.set(ups.name, ups);
    stream.snapshots += 1;
    setLive(true);
    tell({kind: "snapshot"});
  });
  for (const [kind, apply] of Object.entries(APPLY)) {
    source.addEventListener(kind, (event) => {
      const data = JSON.parse(event.data);
      const ups = upses.get(data.ups);
      const what = ups && apply(ups, data);
      if (what) tell({kind: what, ups: ups.name, data});
    });
  }
  source.addEventListener("ups-added", (event) => reread(JSON.parse(event.data).ups));
  source.addEventListener("ups-removed", (event) => {
    const name = JSON.parse(event.data).ups;
    if (upses.delete(name)) tell({kind: "removed", ups: name});
  });
  source.addEventListener("log", (event) => tell({kind: "log", entry: JSON.parse(event.data)}));
  return source;
}

// The event log of one UPS (with the server's own entries) or of all: the
// latest entries read once, then each new one as the stream brings it; read
// again after every snapshot, which may follow a gap or a server restart.
export class LogFeed {
  constructor(ups, limit, changed) {
    this.ups = ups === null ? null : ups.toLowerCase();
    this.limit = limit;
    this.changed = changed;
    this.entries = new Map();  // id -> entry
    this.reading = 0;
    this.unwatch = watch((change) => {
      if (change.kind === "snapshot") this.reload();
      else if (change.kind === "log" && this.wants(change.entry)) this.add([change.entry]);
    });
    this.reload();
  }

  wants(entry) {
    return this.ups === null || entry.ups === null || entry.ups.toLowerCase() === this.ups;
  }

  add(entries) {
    for (const entry of entries) this.entries.set(entry.id, entry);
    this.changed();
  }

  async reload() {
    const reading = ++this.reading;
    this.entries.clear();
    const answer = await fetchLog(this.ups, this.limit);
    if (reading === this.reading && answer.ok) this.add(answer.body.entries);
  }

  newestFirst() {
    return [...this.entries.values()].sort((a, b) => b.id - a.id).slice(0, this.limit);
  }

  close() {
    this.unwatch();
  }
}
