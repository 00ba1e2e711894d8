// The event log as a list, newest first.

import {fill, h} from "./dom.js";
import {when} from "./words.js";

export function logList() {
  return h("ol", {class: "log", "aria-live": "polite"});
}

export function showLog(list, entries, {names}) {
  if (entries.length === 0) {
    fill(list, h("li", {class: "empty"}, "Nothing logged yet."));
    return;
  }
  fill(list, entries.map((entry) => h("li", {dataset: {kind: entry.kind}},
    h("time", {datetime: new Date(entry.at * 1000).toISOString()}, when(entry.at)),
    names && entry.ups ? h("span", {class: "ups"}, entry.ups) : null,
    h("span", {class: "message"}, entry.message))));
}
