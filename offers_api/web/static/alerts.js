// The open alerts of social listening (GET /v1/listening/alerts?state=open), read again
// every 15 s and whenever the page comes back into view, shared by every view.

import { api } from "./api.js";

const ALERTS_PATH = "/v1/listening/alerts?state=open";
const EVERY_MS = 15000;

/** "port:LIV" -> {kind: "port", code: "LIV"}; "route:LIV-OLB" -> {kind: "route", code: "LIV-OLB"}. */
export function subjectOf(subject) {
  const [kind, code] = String(subject).split(":");
  return { kind, code: code || "" };
}

/** The subjects an open alert would pause a campaign on, from its offer and targeting:
 * the routes its offer applies to (every route for ``all_routes``; a sailing's route is
 * the start of its id, "LIV-OLB-20260701-2200"), the ports those routes leave from and
 * arrive at, and the ports of its port geofences. */
export function placesOf(campaign, network) {
  const routes = new Set();
  const ports = new Set();
  const offer = campaign.offer || {};
  const known = (network && network.routes) || [];
  if (offer.all_routes) {
    for (const route of known) routes.add(route.route_id);
    for (const port of (network && network.ports) || []) ports.add(port.code);
  }
  for (const route of offer.route_ids || []) routes.add(route);
  for (const sailing of offer.sailing_ids || []) {
    const found = /^[A-Z]{3}-[A-Z]{3}/.exec(sailing);
    if (found) routes.add(found[0]);
  }
  for (const route of routes) {
    const [origin, destination] = route.split("-");
    ports.add(origin);
    ports.add(destination);
  }
  for (const fence of (campaign.targeting && campaign.targeting.geofences) || []) {
    if (fence.kind === "port" && fence.port) ports.add(fence.port);
  }
  return new Set([...[...routes].map((r) => `route:${r}`), ...[...ports].map((p) => `port:${p}`)]);
}

/**
 * The open alerts. Event "change" (detail: {open, opened, closed}: the open alerts, the
 * ones newly open and the ones no longer open since the last reading). ``open`` is null
 * until the first reading; ``problem`` says why the latest reading failed, if it did.
 */
export class SocialAlerts extends EventTarget {
  constructor() {
    super();
    this.open = null;
    this.problem = null;
    this.running = false;
    this.timer = null;
    this.busy = false;
    this.onVisible = () => {
      if (document.visibilityState === "visible") this.refresh();
    };
    this.onFocus = () => this.refresh();
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener("focus", this.onFocus);
    document.addEventListener("visibilitychange", this.onVisible);
    this.refresh();
  }

  stop() {
    this.running = false;
    window.clearTimeout(this.timer);
    window.removeEventListener("focus", this.onFocus);
    document.removeEventListener("visibilitychange", this.onVisible);
    const closed = this.open || [];
    this.open = null;
    this.problem = null;
    this.dispatchEvent(new CustomEvent("change", { detail: { open: null, opened: [], closed } }));
  }

  /** The open alert of ``subject`` ("port:LIV", "route:LIV-OLB"), or null. */
  of(subject) {
    return (this.open || []).find((a) => a.subject === subject) || null;
  }

  async refresh() {
    if (!this.running || this.busy) return;
    this.busy = true;
    window.clearTimeout(this.timer);
    try {
      const found = await api.get(ALERTS_PATH, { keepSignedIn: true });
      if (!this.running) return;
      this.problem = null;
      this.publish(Array.isArray(found) ? found.filter((a) => a.state === "open") : []);
    } catch (error) {
      if (!this.running) return;
      this.problem = error.status === 403 ? "Your role cannot read the social alerts." : error.message;
      this.dispatchEvent(
        new CustomEvent("change", { detail: { open: this.open, opened: [], closed: [] } }),
      );
    } finally {
      this.busy = false;
      if (this.running) this.timer = window.setTimeout(() => this.refresh(), EVERY_MS);
    }
  }

  publish(found) {
    const before = new Map((this.open || []).map((a) => [a.alert_id, a]));
    const now = new Map(found.map((a) => [a.alert_id, a]));
    const opened = found.filter((a) => !before.has(a.alert_id));
    const closed = [...before.values()].filter((a) => !now.has(a.alert_id));
    const first = this.open === null;
    this.open = found;
    const changed = JSON.stringify([...before.values()]) !== JSON.stringify(found);
    if (first || opened.length || closed.length || changed) {
      this.dispatchEvent(new CustomEvent("change", { detail: { open: found, opened, closed } }));
    }
  }
}
