// Small pieces several views show: a status badge, an offer in words, a number card.

import { h } from "../dom.js";
import { eur, words } from "../format.js";

export function statusBadge(status) {
  return h("span", { class: ["badge", `status-${status}`], dataset: { status } }, status);
}

export function offerText(offer) {
  if (!offer) return "–";
  const where = offer.all_routes
    ? "any route"
    : `${(offer.route_ids || []).length + (offer.sailing_ids || []).length} route(s) or sailing(s)`;
  switch (offer.kind) {
    case "percent_discount":
      return `${offer.percent} % off, ${where}`;
    case "fixed_discount":
      return `${eur(offer.amount_eur)} off, ${where}`;
    case "onboard_voucher":
      return `${eur(offer.amount_eur)} on board, ${where}`;
    case "upgrade":
      return `${words(offer.upgrade || "upgrade")}, ${where}`;
    default:
      return words(offer.kind);
  }
}

/** A labelled number: <div class="stat"><span>Decided</span><strong>12</strong></div>. */
export function stat(label, value, metric, note) {
  return h(
    "div",
    { class: "stat" },
    h("span", { class: "stat-label" }, label),
    h("strong", { class: "stat-value", dataset: metric ? { metric } : {} }, value),
    note ? h("span", { class: "stat-note" }, note) : null,
  );
}

/** A status line that says whether something is loading, failed or fine. */
export function notice(text, kind = "info") {
  return h("p", { class: ["notice", `notice-${kind}`] }, text);
}
