// What a campaign's page shows of the engine at work: the live numbers, the latest
// decisions, and the campaign's history of changes.

import { h, scrollingTable } from "../dom.js";
import { count, moment, words } from "../format.js";
import { stat } from "./parts.js";

function breakdown(label, entries, key) {
  if (!entries.length) return null;
  return h(
    "dl",
    { class: "breakdown", "aria-label": label, dataset: { breakdown: key } },
    h("div", { class: "breakdown-title" }, label),
    entries.map(([name, n]) => h("div", { class: "pair" }, h("dt", {}, words(name)), h("dd", {}, count(n)))),
  );
}

/** The campaign's live counts (``numbers`` of the activity, or null) as stats and lists. */
export function liveNumbers(numbers, state) {
  const outcomes = Object.entries((numbers && numbers.by_outcome) || {}).sort((a, b) => b[1] - a[1]);
  const deliveries = Object.entries((numbers && numbers.by_delivery) || {}).sort((a, b) => b[1] - a[1]);
  return [
    h(
      "div",
      { class: "stats" },
      stat("Decided", count((numbers && numbers.decided) || 0), "live-decided"),
      stat("Sent", count((numbers && numbers.sent) || 0), "live-sent"),
    ),
    h(
      "p",
      { class: "fineprint" },
      "Latest decision: ",
      h("span", { dataset: { metric: "live-last" } }, moment(numbers && numbers.last_decision_at)),
    ),
    outcomes.length || deliveries.length
      ? h(
          "div",
          { class: "breakdowns" },
          breakdown("Decisions by outcome", outcomes, "outcomes"),
          breakdown("Messages by delivery state", deliveries, "deliveries"),
        )
      : h(
          "p",
          { class: "fineprint" },
          state === "live" ? "No decision for this campaign yet." : "Waiting for the live activity…",
        ),
  ];
}

/** The latest decisions: when, where, what and why; nothing about the customer. */
export function latestDecisions(recent) {
  if (!recent.length) return null;
  return scrollingTable(
    "Latest decisions",
    h(
      "table",
      { class: "data compact", id: "recent-table" },
      h("caption", {}, "Latest decisions"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["When", "Port", "Outcome", "Reason", "Channel"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        recent.map((d) =>
          h(
            "tr",
            {},
            h("td", { class: "nowrap" }, moment(d.at)),
            h("td", {}, d.port || "–"),
            h("td", {}, words(d.outcome || "")),
            h("td", {}, words(d.reason || "")),
            h("td", {}, d.channel || "–"),
          ),
        ),
      ),
    ),
  );
}

/** Every change of the campaign, newest first: version, when, who, what. */
export function historyTable(entries) {
  return scrollingTable(
    "History",
    h(
      "table",
      { class: "data compact", id: "audit-table" },
      h("caption", { class: "visually-hidden" }, "Every change of the campaign, newest first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Version", "When", "Who", "What", "Fields changed"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        entries
          .slice()
          .reverse()
          .map((e) =>
            h(
              "tr",
              {},
              h("td", { class: "num" }, String(e.version)),
              h("td", { class: "nowrap" }, moment(e.at)),
              h("td", {}, `${e.actor.user_id} (${words(e.actor.role)})`),
              h("td", {}, words(e.action)),
              h("td", {}, Object.keys(e.changes || {}).join(", ") || "–"),
            ),
          ),
      ),
    ),
  );
}
