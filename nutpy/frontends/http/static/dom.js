// Building the page out of untrusted text.  A UPS's values, its description,
// user names in the log: every one becomes a text node, never markup, so a
// UPS that reports "<img onerror=...>" shows exactly those characters.
// Nothing in the dashboard assigns innerHTML; attributes are set one at a
// time, and inline handlers ("onclick") are refused: pass {on: {click: fn}}.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [type, handler] of Object.entries(value)) el.addEventListener(type, handler);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key.startsWith("on")) {
      throw new Error(`no inline handlers: ${key}`);
    } else if (typeof value === "boolean" || key === "value") {
      el[key] = value;
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));  // a string becomes text
  }
}

export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function upsHref(name) {
  return `/ups/${encodeURIComponent(name)}`;
}
