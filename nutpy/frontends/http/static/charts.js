// A UPS's history as charts, drawn with uPlot (vendored: uplot-LICENSE.txt).
//
// The server keeps a sample when a value changes (and writes a gap while the
// data is stale), and answers at most ~500 points a series per range.  A
// value holds until the next sample, so the lines are steps, carried on to
// "now".  While the page is open the event stream's changes are added as
// they come, so the charts move without asking the server again.

/* global uPlot */
import {history, outcome} from "./api.js";
import {fill, h} from "./dom.js";
import {number, when} from "./words.js";

const CHARTS = [
  {name: "battery.charge", label: "Battery charge", unit: "%", color: "#2e8540", percent: true},
  {name: "battery.runtime", label: "Runtime", unit: "min", factor: 1 / 60, color: "#1f6fb2"},
  {name: "ups.load", label: "Load", unit: "%", color: "#b26b00", percent: true},
  {name: "input.voltage", label: "Input voltage", unit: "V", color: "#7b3fb2"},
  {name: "ups.temperature", label: "Temperature", unit: "°C", color: "#c0392b"},
];
const SPANS = {hour: 3600, day: 86400, week: 7 * 86400, month: 30 * 86400};
const HEIGHT = 150;
const MAX_POINTS = 2000;  // beyond this many live additions, read the range again
const TICK = 30000;  // ms: how often the charts move on to "now" when nothing changes

const CARRY = 0.001;  // s: a held value ends this long before the gap that follows it

// A y range with room around the values (uPlot's own starts a steady 236 V at 0).
function around(u, low, high) {
  if (low === null || high === null) return [0, 1];
  const pad = Math.max((high - low) * 0.15, Math.abs(high) * 0.05, 0.5);
  return [low >= 0 ? Math.max(0, low - pad) : low - pad, high + pad];
}

function css(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export class HistoryCharts {
  constructor(ups) {
    this.ups = ups;
    this.range = "hour";
    this.points = new Map();  // series -> [[t, value|null], ...], oldest first
    this.plots = new Map();  // series -> {plot, figure}
    this.skew = 0;  // server clock minus this browser's, in seconds
    this.buttons = Object.keys(SPANS).map((range) => h("button", {type: "button",
      class: "range", dataset: {range}, on: {click: () => this.load(range)}}, range));
    this.csv = h("a", {download: ""}, "CSV");
    this.json = h("a", {download: ""}, "JSON");
    this.note = h("p", {class: "note", role: "status"});
    this.grid = h("div", {class: "charts"});
    this.ranges = h("p", {class: "ranges", role: "group", "aria-label": "Time range"}, "Last ",
      this.buttons, h("span", {class: "export"}, "Export: ", this.csv, " · ", this.json));
    this.el = h("div", {}, this.ranges, this.note, this.grid);
    this.resize = () => this.fit();
    window.addEventListener("resize", this.resize);
    this.ticker = setInterval(() => this.tick(), TICK);
  }

  async load(range = this.range) {
    this.range = range;
    for (const button of this.buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.range === range));
    }
    const base = `/api/v1/history?ups=${encodeURIComponent(this.ups)}&range=${range}`;
    this.csv.href = `${base}&format=csv`;
    this.json.href = base;
    this.json.download = `${this.ups}-history.json`;
    const answer = await history(this.ups, range, CHARTS.map((chart) => chart.name));
    if (range !== this.range) return;  // another range was asked for meanwhile
    this.points.clear();
    const kept = answer.body.error !== "FEATURE-NOT-CONFIGURED";
    this.ranges.hidden = !kept;
    if (!answer.ok) {
      this.draw();
      this.note.textContent = kept ? `No history: ${outcome(answer).text}`
        : "This server keeps no history (HISTORY in nutpy.conf).";
      return;
    }
    const {from, to, series} = answer.body;
    this.skew = to - Date.now() / 1000;
    this.from = from;
    this.to = to;
    for (const chart of CHARTS) {
      if (series[chart.name]?.length) this.points.set(chart.name, series[chart.name]);
    }
    this.draw();
  }

  // The columns uPlot draws: the samples, each value carried on to where the
  // next one (or a gap) starts, and the last one on to "now".
  columns(chart) {
    const times = [];
    const values = [];
    let last = null;
    for (const [at, value] of this.points.get(chart.name)) {
      if (value === null && last !== null) {
        times.push(at - CARRY);
        values.push(last);
      }
      last = value === null ? null : value * (chart.factor || 1);
      times.push(at);
      values.push(last);
    }
    if (last !== null && times[times.length - 1] < this.to) {
      times.push(this.to);
      values.push(last);
    }
    return [times, values];
  }

  options(chart, width) {
    const ink = css("--ink", "#222");
    const grid = css("--grid", "#ddd");
    const axis = {stroke: ink, grid: {stroke: grid, width: 1}, ticks: {stroke: grid, width: 1}};
    return {
      width,
      height: HEIGHT,
      legend: {show: false},  // the caption says the value: the latest, or the pointed one
      hooks: {setCursor: [(u) => this.caption(chart.name, u.cursor.idx)]},
      cursor: {drag: {x: false, y: false}},
      scales: {
        x: {time: true, range: () => [this.from, this.to]},
        y: {range: chart.percent ? (u, low, high) => [0, Math.max(100, high ?? 0)] : around},
      },
      axes: [axis, {...axis, size: 50}],
      series: [{}, {
        label: chart.label,
        stroke: chart.color,
        width: 2,
        fill: `${chart.color}22`,
        paths: uPlot.paths.stepped({align: 1}),
        points: {show: false},
      }],
    };
  }

  draw() {
    this.destroy();
    fill(this.grid);
    for (const chart of CHARTS) {
      if (!this.points.has(chart.name)) continue;  // this UPS does not report it
      const value = h("span", {class: "value"});
      const figure = h("figure", {class: "chart", dataset: {series: chart.name}},
        h("figcaption", {}, chart.label, " ", value));
      this.grid.append(figure);
      const entry = {figure, chart, value, plot: null};
      this.plots.set(chart.name, entry);
      entry.plot = new uPlot(this.options(chart, figure.clientWidth), this.columns(chart), figure);
      this.count(chart.name);
    }
    this.note.textContent = this.plots.size ? ""
      : `Nothing recorded in the last ${this.range} yet.`;
  }

  count(name) {
    const {figure} = this.plots.get(name);
    figure.dataset.points = String(this.points.get(name).filter(([, v]) => v !== null).length);
    this.caption(name, null);
  }

  // "236.1 V" (the latest), or "230 V at 11:02:10" where the pointer is.
  caption(name, index) {
    const entry = this.plots.get(name);
    if (!entry || !entry.plot) return;
    const [times, values] = entry.plot.data;
    let i = index ?? values.length - 1;
    while (i >= 0 && values[i] === null && index === null) i--;  // the latest known
    const value = i >= 0 ? values[i] : null;
    const shown = value === null || value === undefined ? "–"
      : `${Number(value.toFixed(1))} ${entry.chart.unit}`;
    entry.value.textContent = index === null ? shown : `${shown} at ${when(times[i])}`;
  }

  redraw() {
    this.from = this.to - SPANS[this.range];
    for (const [name, {plot, chart}] of this.plots) {
      const points = this.points.get(name);
      while (points.length > 1 && points[1][0] < this.from) points.shift();
      plot.setData(this.columns(chart));
      this.count(name);
    }
  }

  add(name, at, value) {
    if (this.from === undefined) return;  // not loaded (yet, or no history kept)
    let points = this.points.get(name);
    if (points === undefined) {  // the first sample of a series: draw it
      this.points.set(name, [[at, value]]);
      this.to = Math.max(this.to, at);
      this.draw();
      return;
    }
    points.push([at, value]);
    this.to = Math.max(this.to, at);
    if (points.length > MAX_POINTS) this.load();
    else this.redraw();
  }

  // A variable event from the stream.
  live(event) {
    if (CHARTS.some((chart) => chart.name === event.name)) {
      this.add(event.name, event.at, number(event.new));
    }
  }

  // The data went stale (a gap in every line) or came back (the values again).
  availability(ups, at) {
    for (const [name, points] of this.points) {
      const last = points[points.length - 1][1];
      const now = ups.stale ? null : number(ups.variables[name]?.value);
      if ((last === null) !== (now === null)) this.add(name, at, now);
    }
  }

  tick() {
    if (this.from === undefined || this.plots.size === 0) return;
    this.to = Math.max(this.to, Date.now() / 1000 + this.skew);
    this.redraw();
  }

  fit() {
    for (const {plot, figure} of this.plots.values()) {
      plot.setSize({width: figure.clientWidth, height: HEIGHT});
    }
  }

  destroy() {
    for (const {plot} of this.plots.values()) plot.destroy();
    this.plots.clear();
  }

  close() {
    window.removeEventListener("resize", this.resize);
    clearInterval(this.ticker);
    this.destroy();
  }
}
