// The open alerts of social listening as the page names them: a line per alert in the
// area under the header (on every view once signed in), and the words for its subject.

import { subjectOf } from "../alerts.js";
import { announce, h, replace } from "../dom.js";
import { moment, percent } from "../format.js";
import { loadNetwork } from "../network.js";

/** "Livorno (LIV)" for "port:LIV", "Livorno → Olbia (LIV-OLB)" for "route:LIV-OLB". */
export function placeName(subject, network) {
  const { kind, code } = subjectOf(subject);
  const names = new Map(((network && network.ports) || []).map((p) => [p.code, p.name]));
  if (kind === "port") return names.has(code) ? `${names.get(code)} (${code})` : `port ${code}`;
  if (kind === "route") {
    const [from, to] = code.split("-");
    return names.has(from) && names.has(to)
      ? `${names.get(from)} → ${names.get(to)} (${code})`
      : `route ${code}`;
  }
  return String(subject);
}

/** What an alert found, in one sentence after its place. */
export function alertFacts(alert) {
  const topics = (alert.top_topics || []).length ? alert.top_topics.join(", ") : "none given";
  return (
    `since ${moment(alert.opened_at)}: ${percent(alert.share_negative)} of ${alert.volume} ` +
    `mention${alert.volume === 1 ? "" : "s"} negative in 15 minutes, against ${percent(alert.baseline)} ` +
    `over the day before. Topics: ${topics}.`
  );
}

function alertItem(alert, network) {
  return h(
    "li",
    { class: "alert-item", dataset: { alertId: alert.alert_id, subject: alert.subject } },
    h("span", { class: "badge alert-badge" }, "Alert"),
    " ",
    h("strong", { class: "alert-place" }, `Negative mentions of ${placeName(alert.subject, network)}`),
    " ",
    h("span", { class: "alert-facts" }, alertFacts(alert)),
    " ",
    h("a", { href: "#/map", class: "alert-map" }, "Show on the map"),
  );
}

/**
 * Keep ``area`` (the region under the header) showing the open alerts of ``alerts``
 * (a SocialAlerts). New alerts are added to its live list, so screen readers read them
 * out; closed ones are removed, and said to be closed.
 */
export function alertBoard(area, alerts) {
  let network = null;
  const list = h("ul", {
    class: "alert-list",
    id: "alert-list",
    "aria-live": "polite",
    "aria-relevant": "additions",
  });
  const status = h("p", { class: "alert-status", id: "alert-status" });
  replace(area, list, status);

  function drawStatus() {
    const open = alerts.open || [];
    if (alerts.problem) status.textContent = `Social alerts could not be read: ${alerts.problem}`;
    else if (alerts.open === null) status.textContent = "Reading the social alerts…";
    else if (!open.length) status.textContent = "Social listening: no open alert.";
    else
      status.textContent = `Social listening: ${open.length} open alert${open.length === 1 ? "" : "s"}.`;
    area.dataset.open = String(open.length);
  }

  async function onChange(event) {
    const { open, closed } = event.detail;
    if (open && open.length && !network) {
      try {
        network = await loadNetwork();
      } catch {
        network = null; // the codes stand for the names
      }
    }
    const shown = new Map([...list.children].map((item) => [item.dataset.alertId, item]));
    const wanted = new Set((open || []).map((a) => a.alert_id));
    for (const [id, item] of shown) if (!wanted.has(id)) item.remove();
    for (const alert of [...(open || [])].reverse()) {
      const item = shown.get(alert.alert_id);
      const fresh = alertItem(alert, network);
      if (!item) list.prepend(fresh);
      else if (item.textContent !== fresh.textContent) item.replaceWith(fresh);
    }
    if (open && closed.length) {
      const said = closed.map((a) => `The social alert on ${placeName(a.subject, network)} has closed.`);
      announce(said.join(" "));
    }
    drawStatus();
  }

  alerts.addEventListener("change", onChange);
  drawStatus();
}
