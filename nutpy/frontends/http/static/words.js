// What a UPS's state means, in words, and its readings with their units.

// NUT's status flags (docs/new-drivers.txt, "ups.status"), each with a tone
// for its colour: ok, info, warn, bad.
const FLAGS = {
  OL: ["on line", "ok"],
  OB: ["on battery", "warn"],
  LB: ["low battery", "bad"],
  HB: ["high battery", "warn"],
  RB: ["replace battery", "warn"],
  CHRG: ["charging", "info"],
  DISCHRG: ["discharging", "info"],
  BYPASS: ["on bypass", "warn"],
  CAL: ["calibrating", "info"],
  OFF: ["output off", "bad"],
  OVER: ["overload", "bad"],
  TRIM: ["trimming high input", "info"],
  BOOST: ["boosting low input", "info"],
  FSD: ["forced shutdown", "bad"],
  ALARM: ["alarm", "bad"],
  TEST: ["self-test running", "info"],
};
const AVAILABILITY = {
  "DRIVER-NOT-CONNECTED": ["driver not connected", "bad"],
  "DATA-STALE": ["data stale", "bad"],
};
const TONES = ["ok", "info", "warn", "bad"];

// [{text, tone, old}]: old marks a flag last known before the data went stale.
export function statusWords(ups) {
  const words = [];
  const unavailable = AVAILABILITY[ups.availability];
  if (unavailable) words.push({text: unavailable[0], tone: unavailable[1], old: false});
  for (const flag of ups.status || []) {
    const [text, tone] = FLAGS[flag] || [flag.toLowerCase(), "info"];
    words.push({text, tone, old: Boolean(unavailable)});
  }
  if (words.length === 0) words.push({text: "no status", tone: "info", old: false});
  return words;
}

export function worstTone(words) {
  let worst = 0;
  for (const word of words) if (!word.old) worst = Math.max(worst, TONES.indexOf(word.tone));
  return TONES[worst];
}

export function number(text) {
  if (text === undefined || text === null || text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 && minutes < 10 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

// The readings a card shows, in order.  Each is also a history series.
export const READINGS = [
  {name: "battery.charge", label: "Charge", unit: "%"},
  {name: "battery.runtime", label: "Runtime", show: duration},
  {name: "ups.load", label: "Load", unit: "%"},
  {name: "input.voltage", label: "Input", unit: "V"},
  {name: "output.voltage", label: "Output", unit: "V"},
  {name: "ups.temperature", label: "Temperature", unit: "°C"},
];

// A reading as shown: "4.5 %" for "004.5"; the raw text when it is no number.
export function reading(spec, text) {
  if (text === undefined || text === null) return "–";
  const value = number(text);
  if (value === null) return text;
  return spec.show ? spec.show(value) : `${value} ${spec.unit}`;
}

export function when(at) {
  const date = new Date(at * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}
