// The dashboard's entry point: one page, two kinds of view ("/" and
// "/ups/NAME"), chosen from the path and changed without a reload.

import {fill, h} from "./dom.js";
import {connect, stream, watch} from "./live.js";
import {overview} from "./overview.js";
import {upsPage} from "./upspage.js";

const main = document.getElementById("main");
const connection = document.getElementById("connection");
let view = null;

function requestedUps() {
  const match = /^\/ups\/([^/]+)\/?$/.exec(location.pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

function route() {
  if (view) view.close();
  view = null;
  if (stream.snapshots === 0) {
    fill(main, h("p", {class: "loading"}, "Connecting to the server…"));
    return;
  }
  const name = requestedUps();
  view = name === null ? overview(main) : upsPage(main, name);
  if (!document.documentElement.dataset.rendered) {
    document.documentElement.dataset.rendered = "true";
    performance.mark("nutpy-first-render");  // the browser test reads it
  }
}

function showConnection() {
  connection.textContent = stream.live ? "live" : "reconnecting…";
  connection.dataset.live = String(stream.live);
  document.body.classList.toggle("offline", !stream.live);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a.nav");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey
      || event.altKey) return;
  event.preventDefault();
  if (link.pathname !== location.pathname) history.pushState(null, "", link.pathname);
  route();
  window.scrollTo(0, 0);
});
window.addEventListener("popstate", route);
watch((change) => {
  if (change.kind === "connection") showConnection();
  else if (change.kind === "snapshot" && (view === null || view.missing)) route();
});
route();
connect();
