// The map view: ports, geofences and routes over the coastline, with live activity per
// port, and the same numbers in a table.

import { h, replace, scrollingTable } from "../dom.js";
import { count } from "../format.js";
import { Projection, seaMap } from "../map.js";
import { loadNetwork } from "../network.js";
import { notice } from "./parts.js";
import { alertFacts, placeName } from "./social_alerts.js";

const ZOOM_KM = 40; // the half-width of the area shown around a port
const MAX_HEIGHT_SHARE = 0.78; // of the window: the map's max-height in app.css

let coastCache = null;

async function loadCoast() {
  if (!coastCache) {
    coastCache = fetch("/ui/static/coast.json", { cache: "force-cache" }).then((response) => {
      if (!response.ok) throw new Error(`the coastline could not be read (HTTP ${response.status})`);
      return response.json();
    });
    coastCache.catch(() => {
      coastCache = null;
    });
  }
  return coastCache;
}

function windowText(snapshot) {
  const seconds = (snapshot && snapshot.window_s) || 900;
  return seconds % 60 === 0 ? `${seconds / 60} minutes` : `${seconds} s`;
}

export function renderMap(main, { live, alerts }) {
  document.title = "Map · Moby offers";
  let alive = true;
  let coast = null;
  let network = null;
  let focus = null; // the port zoomed to
  const mapBox = h("div", { class: "map-box" }, notice("Loading the map…"));
  const tableBox = h("div", { class: "map-table" });
  const zoomStatus = h("p", { class: "fineprint", "aria-live": "polite", id: "map-zoom" });
  const source = h("p", { class: "fineprint map-source" });
  const alertLine = h("p", { class: "map-alerts", id: "map-alerts" });
  replace(
    main,
    h("h1", {}, "Map"),
    h(
      "p",
      { class: "lead" },
      "The network's ports, each with its geofence to scale (the ring) and the offers decided around it lately ",
      "(the filled circle, and the numbers: decided/sent). Ports and routes with an open social alert are marked ALERT.",
    ),
    h("div", { class: "map-layout" }, h("div", {}, mapBox, alertLine, zoomStatus, source), tableBox),
  );

  function view(projection) {
    if (!focus) return null;
    const port = network.ports.find((p) => p.code === focus);
    if (!port) return null;
    const [x, y] = projection.point(port.lon, port.lat);
    const half = projection.km(ZOOM_KM);
    const height = half * 2 * (projection.height / projection.width);
    return [x - half, y - height / 2, half * 2, height];
  }

  function zoomTo(code) {
    focus = code;
    draw();
    const port = code && network.ports.find((p) => p.code === code);
    zoomStatus.textContent = port
      ? `Showing ${ZOOM_KM * 2} km around ${port.name}; its geofence is ${port.geofence_km} km.`
      : "Showing the whole sea.";
  }

  function alertOn(subject) {
    const alert = alerts.of(subject);
    return alert ? `Open social alert on ${placeName(subject, network)}, ${alertFacts(alert)}` : null;
  }

  function drawAlerts() {
    const open = alerts.open || [];
    replace(
      alertLine,
      open.length
        ? [
            h("span", { class: "badge alert-badge" }, "Alert"),
            " Open social alerts, marked ALERT on the map: ",
            open.map((a) => placeName(a.subject, network)).join("; "),
            ".",
          ]
        : "No open social alert on the network.",
    );
  }

  function draw() {
    if (!coast || !network) return;
    const snapshot = live.snapshot;
    drawAlerts();
    const { svg } = seaMap({
      coast,
      network,
      activity: (code) => live.port(code),
      alertOn,
      view: view(new Projection(coast.bbox)),
      widthPx: mapBox.clientWidth,
      heightPx: window.innerHeight * MAX_HEIGHT_SHARE,
      windowText: windowText(snapshot),
    });
    replace(mapBox, svg);
    const rows = network.ports.map((port) => {
      const numbers = live.port(port.code) || {};
      return h(
        "tr",
        { dataset: { port: port.code } },
        h(
          "th",
          { scope: "row" },
          `${port.name} (${port.code})`,
          h("span", { class: "country" }, ` ${port.country}`),
          alerts.of(`port:${port.code}`)
            ? [" ", h("span", { class: "badge alert-badge", title: alertOn(`port:${port.code}`) }, "Alert")]
            : null,
        ),
        h("td", { class: "num" }, String(port.geofence_km)),
        h("td", { class: "num", dataset: { metric: "decided_recent" } }, count(numbers.decided_recent || 0)),
        h("td", { class: "num", dataset: { metric: "sent_recent" } }, count(numbers.sent_recent || 0)),
        h("td", { class: "num", dataset: { metric: "decided" } }, count(numbers.decided || 0)),
        h("td", { class: "num", dataset: { metric: "sent" } }, count(numbers.sent || 0)),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              class: "secondary small",
              "aria-pressed": focus === port.code ? "true" : "false",
              onclick: () => zoomTo(focus === port.code ? null : port.code),
            },
            focus === port.code ? "Whole sea" : "Zoom",
            h("span", { class: "visually-hidden" }, ` ${port.name}`),
          ),
        ),
      );
    });
    const recent = windowText(snapshot);
    const short = recent.replace(" minutes", " min");
    const focused =
      document.activeElement && tableBox.contains(document.activeElement)
        ? document.activeElement.closest("tr")
        : null;
    const focusPort = focused ? focused.dataset.port : null;
    replace(
      tableBox,
      scrollingTable(
        "Ports",
        h(
          "table",
          { class: "data compact", id: "ports-table" },
          h("caption", {}, `Offer activity per port: the last ${recent}, and in all`),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Port"),
              h("th", { scope: "col", class: "num" }, "Geofence (km)"),
              h("th", { scope: "col", class: "num" }, `Decided (${short})`),
              h("th", { scope: "col", class: "num" }, `Sent (${short})`),
              h("th", { scope: "col", class: "num" }, "Decided (all)"),
              h("th", { scope: "col", class: "num" }, "Sent (all)"),
              h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Zoom")),
            ),
          ),
          h("tbody", {}, rows),
        ),
      ),
    );
    if (focusPort) {
      const button = tableBox.querySelector(`tr[data-port="${focusPort}"] button`);
      if (button) button.focus();
    }
  }

  (async () => {
    try {
      [coast, network] = await Promise.all([loadCoast(), loadNetwork()]);
    } catch (error) {
      if (!alive || error.name === "AuthError") return;
      replace(mapBox, notice(`The map could not be drawn: ${error.message}`, "warning"));
      return;
    }
    if (!alive) return;
    source.textContent = `Coastline: ${coast.source}. ${coast.licence}.`;
    draw();
  })();

  const redraw = () => draw();
  live.addEventListener("activity", redraw);
  alerts.addEventListener("change", redraw);
  let drawnWidth = 0;
  const resize = new ResizeObserver(() => {
    if (Math.abs(mapBox.clientWidth - drawnWidth) > 16) {
      drawnWidth = mapBox.clientWidth;
      draw();
    }
  });
  resize.observe(mapBox);
  return () => {
    alive = false;
    resize.disconnect();
    live.removeEventListener("activity", redraw);
    alerts.removeEventListener("change", redraw);
  };
}
