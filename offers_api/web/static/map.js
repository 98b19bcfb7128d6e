// The sea of the network on an SVG map: the coastline of a bundled file, the ports with
// their geofences to scale, the routes, and the offer activity around each port.
// Equirectangular projection, longitudes shortened by the cosine of the middle latitude.

import { s, uid } from "./dom.js";

const KM_PER_DEGREE = 111.32;
const UNITS_PER_DEGREE = 100; // of latitude, in the SVG's coordinates

/** Where a label goes from its port, for the ports that sit close to another. */
const LABEL_SIDE = {
  OLB: "below-left",
  GAR: "right",
  STE: "left",
  BON: "above-left",
  PIO: "right",
  PFE: "left",
  PTO: "left",
};

export class Projection {
  constructor([west, south, east, north]) {
    this.west = west;
    this.north = north;
    this.kx = Math.cos((((south + north) / 2) * Math.PI) / 180) * UNITS_PER_DEGREE;
    this.ky = UNITS_PER_DEGREE;
    this.width = (east - west) * this.kx;
    this.height = (north - south) * this.ky;
  }

  point(lon, lat) {
    return [(lon - this.west) * this.kx, (this.north - lat) * this.ky];
  }

  /** A distance on the ground, in the map's units (along a meridian). */
  km(distance) {
    return (distance / KM_PER_DEGREE) * this.ky;
  }
}

function ringPath(ring, projection) {
  return (
    ring
      .map(([lon, lat], i) => {
        const [x, y] = projection.point(lon, lat);
        return `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join("") + "Z"
  );
}

export function coastPath(coast, projection) {
  return coast.polygons.map((polygon) => polygon.map((ring) => ringPath(ring, projection)).join("")).join("");
}

function labelPlacement(code, r) {
  const side = LABEL_SIDE[code] || "right";
  const gap = r + 3;
  switch (side) {
    case "left":
      return { dx: -gap, dy: 4, anchor: "end" };
    case "below-left":
      return { dx: -gap, dy: gap + 8, anchor: "end" };
    case "above-left":
      return { dx: -gap, dy: -gap, anchor: "end" };
    default:
      return { dx: gap, dy: 4, anchor: "start" };
  }
}

/**
 * The map as an <svg>. ``view``: the part shown, [x, y, width, height] in map units
 * (the whole area when null); ``activity(code)``: {decided_recent, sent_recent} or null;
 * ``alertOn(subject)``: what to say of the open social alert on "port:LIV" or
 * "route:LIV-OLB", or null when there is none; ``widthPx``, ``heightPx``: the room it is
 * drawn in, in screen pixels.
 */
export function seaMap({
  coast,
  network,
  activity,
  alertOn = () => null,
  view,
  windowText,
  widthPx,
  heightPx,
}) {
  const projection = new Projection(coast.bbox);
  const [vx, vy, vw, vh] = view || [0, 0, projection.width, projection.height];
  // one screen pixel in map units: labels and marks keep their size at any zoom and width
  const unit = Math.max(vw / Math.max(200, widthPx || vw), vh / Math.max(200, heightPx || vh));
  const titleId = uid("map-title");
  const descId = uid("map-desc");
  const ports = new Map(network.ports.map((p) => [p.code, p]));
  const svg = s(
    "svg",
    {
      class: "sea-map",
      id: "sea-map",
      viewBox: `${vx.toFixed(2)} ${vy.toFixed(2)} ${vw.toFixed(2)} ${vh.toFixed(2)}`,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
      preserveAspectRatio: "xMidYMid meet",
    },
    s("title", { id: titleId }, "Ports of the Ligurian and Tyrrhenian seas, with offer activity"),
    s(
      "desc",
      { id: descId },
      `${network.ports.length} ports and ${network.routes.length} routes. A port's ring is its geofence, to scale; ` +
        `its filled circle grows with the offers decided there in the last ${windowText}. The table beside the map has the numbers. ` +
        "A port or route with an open social alert is circled or drawn bold, and labelled ALERT.",
    ),
    s("rect", { class: "sea", x: 0, y: 0, width: projection.width, height: projection.height }),
    s("path", { class: "land", id: "coastline", d: coastPath(coast, projection), "fill-rule": "evenodd" }),
  );
  const seen = new Set();
  const routes = s("g", { class: "routes" });
  const alerts = s("g", { class: "alerts" });
  const alertLabel = (x, y, anchor) =>
    s(
      "text",
      {
        class: "alert-label",
        x,
        y,
        "text-anchor": anchor,
        "font-size": 11 * unit,
        "stroke-width": 3 * unit,
      },
      "ALERT",
    );
  for (const route of network.routes) {
    const key = [route.origin, route.destination].sort().join("-");
    const a = ports.get(route.origin);
    const b = ports.get(route.destination);
    if (seen.has(key) || !a || !b) continue;
    seen.add(key);
    const [x1, y1] = projection.point(a.lon, a.lat);
    const [x2, y2] = projection.point(b.lon, b.lat);
    routes.append(
      s("line", {
        x1,
        y1,
        x2,
        y2,
        "stroke-width": 1.2 * unit,
        "stroke-dasharray": `${4 * unit} ${3 * unit}`,
      }),
    );
    for (const [from, to] of [
      [route.origin, route.destination],
      [route.destination, route.origin],
    ]) {
      const subject = `route:${from}-${to}`;
      const said = alertOn(subject);
      if (!said) continue;
      alerts.append(
        s(
          "g",
          { class: "alert-mark alert-route", dataset: { subject } },
          s("title", {}, said),
          s("line", { class: "alert-line", x1, y1, x2, y2, "stroke-width": 4 * unit }),
          alertLabel((x1 + x2) / 2, (y1 + y2) / 2 - 6 * unit, "middle"),
        ),
      );
    }
  }
  svg.append(routes);
  const marks = s("g", { class: "ports" });
  const most = Math.max(1, ...network.ports.map((p) => (activity(p.code) || {}).decided_recent || 0));
  for (const port of network.ports) {
    const [x, y] = projection.point(port.lon, port.lat);
    const numbers = activity(port.code) || {};
    const decided = numbers.decided_recent || 0;
    const sent = numbers.sent_recent || 0;
    const r = decided ? (4 + 14 * Math.sqrt(decided / most)) * unit : 0;
    const dot = 2.5 * unit;
    const place = labelPlacement(port.code, Math.max(r, dot + 2 * unit) / unit);
    const said = alertOn(`port:${port.code}`);
    if (said) {
      const ring = 9 * unit;
      alerts.append(
        s(
          "g",
          { class: "alert-mark alert-port", dataset: { subject: `port:${port.code}` } },
          s("title", {}, said),
          s("circle", { class: "alert-ring", cx: x, cy: y, r: ring, "stroke-width": 3 * unit }),
          alertLabel(x, y - ring - 4 * unit, "middle"),
        ),
      );
    }
    marks.append(
      s(
        "g",
        { class: "port", dataset: { port: port.code } },
        r ? s("circle", { class: "activity", cx: x, cy: y, r }) : null,
        s("circle", {
          class: "geofence",
          cx: x,
          cy: y,
          r: projection.km(port.geofence_km),
          "stroke-width": 1 * unit,
        }),
        s("circle", { class: "port-dot", cx: x, cy: y, r: dot }),
        s(
          "text",
          {
            class: "port-label",
            x: x + place.dx * unit,
            y: y + place.dy * unit,
            "text-anchor": place.anchor,
            "font-size": 12 * unit,
            "stroke-width": 3 * unit,
          },
          `${port.code} ${decided}/${sent}`,
        ),
      ),
    );
  }
  svg.append(marks);
  svg.append(alerts);
  return { svg, projection };
}
