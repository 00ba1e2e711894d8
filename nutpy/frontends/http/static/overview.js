// "/": every UPS at a glance, and the event log of all of them.

import {upsCard} from "./card.js";
import {fill, h} from "./dom.js";
import {LogFeed, upses, watch} from "./live.js";
import {logList, showLog} from "./logview.js";

export function overview(main) {
  document.title = "nutpy";
  const cards = h("section", {class: "cards", "aria-label": "UPSes"});
  const log = logList();
  fill(main, cards,
    h("section", {class: "panel"}, h("h2", {}, "Event log"), log,
      h("p", {class: "export"}, "Export the last month: ",
        h("a", {href: "/api/v1/log?range=month&format=csv", download: ""}, "CSV"), " · ",
        h("a", {href: "/api/v1/log?range=month", download: "nutpy-events.json"}, "JSON"))));
  const shown = new Map();  // name -> card

  function build() {
    shown.clear();
    const all = [...upses.values()];
    fill(cards, all.length ? all.map((ups) => {
      const card = upsCard(ups.name, {link: true});
      card.update(ups);
      shown.set(ups.name, card);
      return card.el;
    }) : h("p", {class: "empty"}, "No UPS is configured (ups.conf)."));
  }

  build();
  const feed = new LogFeed(null, 50, () => showLog(log, feed.newestFirst(), {names: true}));
  const unwatch = watch((change) => {
    if (change.kind === "snapshot" || change.kind === "removed"
        || (change.kind === "ups" && !shown.has(change.ups))) {
      build();
    } else if (change.ups && shown.has(change.ups)) {
      shown.get(change.ups).update(upses.get(change.ups));
    }
  });
  return {close() { unwatch(); feed.close(); }};
}
