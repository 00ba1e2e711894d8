// A UPS at a glance: its status in words and its main readings.  The same
// card heads the overview's grid and a UPS's own page.

import {fill, h, upsHref} from "./dom.js";
import {number, reading, READINGS, statusWords, when, worstTone} from "./words.js";

// What the unit is: those of its model, serial number and firmware it reports.
const IDENTITY = ["device.model", "ups.serial", "ups.firmware"];

export function upsCard(name, {link}) {
  const title = h("h2", {}, link ? h("a", {class: "nav", href: upsHref(name)}, name) : name);
  const description = h("p", {class: "description"});
  const model = h("p", {class: "model"});
  const status = h("p", {class: "status", "aria-live": "polite"});
  const charge = h("meter", {class: "charge", min: "0", max: "100", low: "30", high: "70",
    optimum: "100", hidden: true});
  const readings = h("dl", {class: "readings"});
  const el = h("article", {class: "card", dataset: {ups: name}},
    h("header", {}, title, description, model), status, charge, readings);

  function update(ups) {
    const words = statusWords(ups);
    fill(status, words.map((word) => h("span", {
      class: `badge ${word.tone}${word.old ? " old" : ""}`,
      title: word.old ? "last known, before the data went stale" : null,
    }, word.text)));
    if (typeof ups.status_changed === "number") {
      status.append(h("span", {class: "since"}, `since ${when(ups.status_changed)}`));
    }
    el.dataset.tone = worstTone(words);
    el.classList.toggle("stale", Boolean(ups.stale));
    fill(description, ups.description || "");
    const variables = ups.variables || {};
    fill(model, IDENTITY.map((name) => variables[name]?.value).filter(Boolean).join(" · "));
    const level = number(variables["battery.charge"]?.value);
    charge.hidden = level === null;
    if (level !== null) charge.value = level;
    const shown = READINGS.filter((spec) => variables[spec.name]);
    fill(readings,
      shown.map((spec) => h("div", {dataset: {reading: spec.name}},
        h("dt", {}, spec.label), h("dd", {}, reading(spec, variables[spec.name].value)))),
      h("div", {dataset: {reading: "clients"}},
        h("dt", {}, "Clients"), h("dd", {}, String(ups.numlogins ?? 0))));
  }

  return {el, update};
}
