// "/ups/NAME": one UPS — its readings, history, event log, commands,
// settings, every variable, and who is connected.

import {upsCard} from "./card.js";
import {HistoryCharts} from "./charts.js";
import {commandTable, settingsTable, signInForm} from "./controls.js";
import {fill, h} from "./dom.js";
import {findUps, LogFeed, upses, watch} from "./live.js";
import {logList, showLog} from "./logview.js";

function section(title, ...content) {
  return h("section", {class: "panel", dataset: {section: title.toLowerCase()}},
    h("h2", {}, title), content);
}

function variableTable(ups) {
  const cells = new Map();  // name -> value cell
  const rows = Object.entries(ups.variables).map(([name, variable]) => {
    const cell = h("td", {class: "value"}, variable.value);
    cells.set(name, cell);
    return h("tr", {dataset: {variable: name}},
      h("td", {}, h("code", {}, name), h("div", {class: "hint"}, variable.description)), cell);
  });
  return {
    el: h("table", {class: "variables"}, h("tbody", {}, rows)),
    update(name, value) {
      const cell = cells.get(name);
      if (cell) cell.textContent = value;
      return Boolean(cell);
    },
  };
}

function connections(ups) {
  const link = ups.link || {};
  const poll = typeof link.poll_seconds === "number" ? ` The last poll took ${(link.poll_seconds * 1000).toFixed(1)} ms.` : "";
  return [
    (ups.clients || []).length
      ? h("ul", {class: "clients"}, ups.clients.map((client) => h("li", {}, client.address)))
      : h("p", {class: "empty"}, "No client is logged in to this UPS."),
    h("p", {class: "hint"}, `Link to the UPS: ${link.errors ?? 0} errors, `
      + `${link.recoveries ?? 0} recoveries.${poll}`),
  ];
}

export function upsPage(main, requested) {
  const found = findUps(requested);
  if (found === null) {
    document.title = "nutpy";
    fill(main, h("p", {class: "missing"}, `This server has no UPS called “${requested}”. `,
      h("a", {class: "nav", href: "/"}, "See every UPS")));
    return {missing: true, close() {}};
  }
  const name = found.name;
  document.title = `${name} · nutpy`;
  const card = upsCard(name, {link: false});
  const charts = new HistoryCharts(name);
  const log = logList();
  const feed = new LogFeed(name, 100, () => showLog(log, feed.newestFirst(), {names: false}));
  const signin = signInForm();
  const commands = h("div", {});
  const settings = h("div", {});
  const variables = h("div", {});
  const clients = h("div", {});
  let settingsTableNow = null;
  let variableTableNow = null;

  function build() {
    const ups = upses.get(name);
    card.update(ups);
    fill(commands, ups.commands.length ? commandTable(ups, () => signin.focus())
      : h("p", {class: "empty"}, "This UPS has no instant commands."));
    settingsTableNow = settingsTable(ups, () => signin.focus());
    fill(settings, settingsTableNow.el);
    variableTableNow = variableTable(ups);
    fill(variables, variableTableNow.el);
    fill(clients, connections(ups));
  }

  const enc = encodeURIComponent(name);
  fill(main,
    h("p", {class: "back"}, h("a", {class: "nav", href: "/"}, "← Every UPS")),
    card.el,
    section("History", charts.el),
    section("Event log", log, h("p", {class: "export"}, "Export the last month: ",
      h("a", {href: `/api/v1/log?ups=${enc}&range=month&format=csv`, download: ""}, "CSV"), " · ",
      h("a", {href: `/api/v1/log?ups=${enc}&range=month`, download: `${name}-events.json`}, "JSON"))),
    section("Commands", signin.el, commands),
    section("Settings", settings),
    section("Variables", variables),
    section("Clients", clients));
  build();
  charts.load();

  const unwatch = watch((change) => {
    if (change.kind !== "snapshot" && change.ups !== name) return;
    const ups = upses.get(name);
    if (ups === undefined) {  // removed, or not in the new snapshot
      fill(main, h("p", {class: "missing"}, `${name} is no longer served. `,
        h("a", {class: "nav", href: "/"}, "See every UPS")));
    } else if (change.kind === "snapshot") {
      build();
      charts.load();
    } else if (change.kind === "ups") {
      build();
    } else if (change.kind === "variable") {
      card.update(ups);
      const {name: variable, new: value} = change.data;
      if (value === null || !variableTableNow.update(variable, value)) build();
      else settingsTableNow.update(variable, value);
      charts.live(change.data);
    } else if (change.kind === "status") {
      card.update(ups);
      charts.availability(ups, change.data.at);
    } else if (change.kind === "clients") {
      card.update(ups);
      fill(clients, connections(ups));
    }
  });

  return {
    close() {
      unwatch();
      feed.close();
      charts.close();
      signin.close();
    },
  };
}
