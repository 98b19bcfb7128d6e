// The parts of a campaign's report: its funnel, treated versus holdout over time, the
// incrementality with its intervals, the reasons offers were suppressed, and the social
// touchpoints that came before its conversions.

import { legend, stepChart } from "../chart.js";
import { h, s, scrollingTable } from "../dom.js";
import { CHANNELS } from "../body.js";
import { count, duration, estimate, eur, number, percent, words } from "../format.js";
import { stat } from "./parts.js";

const FUNNEL_STEPS = [
  ["decided", "Decided"],
  ["held_out", "Held out"],
  ["global_control", "Global control"],
  ["suppressed", "Suppressed"],
  ["no_offer", "No offer"],
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["clicked", "Clicked"],
  ["redeemed", "Redeemed"],
  ["converted", "Converted"],
];

export function funnelView(funnel) {
  const top = Math.max(1, funnel.decided || 0);
  const list = h("ol", { class: "funnel", "aria-label": "Funnel, in decisions" });
  for (const [key, label] of FUNNEL_STEPS) {
    const value = funnel[key] || 0;
    const bar = h("span", { class: ["bar", `bar-${key}`] });
    bar.style.width = `${Math.min(100, (100 * value) / top)}%`;
    list.append(
      h(
        "li",
        { dataset: { step: key } },
        h("span", { class: "funnel-label" }, label),
        h("span", { class: "bar-track", "aria-hidden": "true" }, bar),
        h("span", { class: "funnel-value", dataset: { metric: `funnel-${key}` } }, count(value)),
      ),
    );
  }
  return h(
    "div",
    {},
    list,
    h(
      "p",
      { class: "fineprint" },
      `Revenue of the converted bookings ${eur(funnel.revenue_eur)}, discount given ${eur(funnel.discount_cost_eur)}; `,
      `held-out customers who booked anyway: ${count(funnel.held_out_converted)}.`,
    ),
  );
}

export function suppressionView(funnel) {
  const reasons = Object.entries(funnel.suppressed_by_reason || {}).sort((a, b) => b[1] - a[1]);
  if (!reasons.length) return h("p", {}, "No offer of this campaign was suppressed.");
  const total = reasons.reduce((sum, [, n]) => sum + n, 0);
  return scrollingTable(
    "Suppression reasons",
    h(
      "table",
      { class: "data compact", id: "suppression-table" },
      h("caption", { class: "visually-hidden" }, "Suppressed decisions by reason"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Reason"),
          h("th", { scope: "col", class: "num" }, "Decisions"),
          h("th", { scope: "col", class: "num" }, "Share"),
        ),
      ),
      h(
        "tbody",
        {},
        reasons.map(([reason, n]) =>
          h(
            "tr",
            { dataset: { reason } },
            h("th", { scope: "row" }, words(reason)),
            h("td", { class: "num" }, count(n)),
            h("td", { class: "num" }, percent(n / total)),
          ),
        ),
      ),
    ),
  );
}

/** Each day's totals so far: the timeline gives the customers and conversions of each
 * UTC day; the chart shows the cumulative conversion rate up to and including it. */
export function cumulative(timeline) {
  const sums = { tc: 0, tv: 0, cc: 0, cv: 0 };
  return (timeline || []).map((point) => {
    sums.tc += point.treated_customers || 0;
    sums.tv += point.treated_conversions || 0;
    sums.cc += point.control_customers || 0;
    sums.cv += point.control_conversions || 0;
    return {
      day: point.day,
      treated_customers: sums.tc,
      treated_conversions: sums.tv,
      treated_rate: sums.tc ? sums.tv / sums.tc : null,
      control_customers: sums.cc,
      control_conversions: sums.cv,
      control_rate: sums.cc ? sums.cv / sums.cc : null,
    };
  });
}

const SERIES = [
  { name: "Treated (sent an offer)", key: "treated_rate", className: "treated" },
  { name: "Holdout (not sent)", key: "control_rate", className: "holdout" },
];

/** The chart and its table; ``width`` is the room it has, in pixels. */
export function timelineView(timeline, width) {
  const rows = cumulative(timeline);
  if (!rows.length) {
    return h(
      "p",
      { id: "timeline-empty" },
      "No treated or held-out customer yet: the chart starts with the first.",
    );
  }
  const series = SERIES.map((one) => ({ ...one, values: rows.map((r) => r[one.key]) }));
  const chart = stepChart({
    days: rows.map((r) => r.day.slice(5)),
    series,
    width,
    title: "Cumulative conversion rate per UTC day, treated versus holdout",
    description:
      `From ${rows[0].day} to ${rows[rows.length - 1].day}: treated ${percent(rows[rows.length - 1].treated_rate)}, ` +
      `holdout ${percent(rows[rows.length - 1].control_rate)} at the last day.`,
    xLabel: "Day (UTC, month-day)",
    yLabel: "Cumulative conversion rate (%)",
    format: (v, step) =>
      (v * 100).toFixed(step * 100 < 1 ? 2 : step * 100 < 10 && !Number.isInteger(step * 100) ? 1 : 0),
  });
  const table = h(
    "table",
    { class: "data compact", id: "timeline-table" },
    h("caption", {}, "Cumulative customers and conversions per UTC day"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        [
          "Day",
          "Treated customers",
          "Treated conversions",
          "Treated rate",
          "Holdout customers",
          "Holdout conversions",
          "Holdout rate",
        ].map((t, i) => h("th", { scope: "col", class: i ? "num" : null }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, r.day),
          [
            count(r.treated_customers),
            count(r.treated_conversions),
            percent(r.treated_rate),
            count(r.control_customers),
            count(r.control_conversions),
            percent(r.control_rate),
          ].map((t) => h("td", { class: "num" }, t)),
        ),
      ),
    ),
  );
  return h(
    "figure",
    { class: "timeline" },
    h("div", { class: "chart-box" }, chart),
    legend(series),
    h(
      "figcaption",
      {},
      "Share of each group's customers who booked within the attribution window of their first decision, cumulated day by day.",
    ),
    h(
      "details",
      { class: "as-table" },
      h("summary", {}, "The chart's numbers as a table"),
      scrollingTable("Chart numbers", table),
    ),
  );
}

/** A small picture of an interval: the range, the point, and zero. */
function intervalBar(value) {
  if (!value) return null;
  const low = Math.min(0, value.low);
  const high = Math.max(0, value.high);
  const span = high - low || 1;
  const x = (v) => 6 + (188 * (v - low)) / span;
  return s(
    "svg",
    {
      class: "interval",
      viewBox: "0 0 200 20",
      width: 200,
      height: 20,
      "aria-hidden": "true",
      focusable: "false",
    },
    s("line", { class: "interval-zero", x1: x(0), x2: x(0), y1: 2, y2: 18 }),
    s("line", { class: "interval-range", x1: x(value.low), x2: x(value.high), y1: 10, y2: 10 }),
    s("circle", { class: "interval-point", cx: x(value.value), cy: 10, r: 4 }),
  );
}

function estimateStat(label, value, metric, format, note) {
  const box = stat(label, estimate(value, format), metric, note);
  const bar = intervalBar(value);
  if (bar) box.append(bar);
  return box;
}

export function incrementalityView(incrementality) {
  const inc = incrementality;
  const level = `${Math.round((inc.confidence || 0.95) * 100)} % interval`;
  const groups = [
    ["Treated", inc.treated],
    ["Holdout", inc.control],
  ];
  return h(
    "div",
    {},
    h(
      "div",
      { class: "stats" },
      estimateStat(
        "Incremental conversions",
        inc.incremental_conversions,
        "incremental-conversions",
        (v) => number(v, 1),
        level,
      ),
      estimateStat(
        "ROI",
        inc.roi,
        "roi",
        (v) => number(v, 2),
        `${level}; incremental revenue per EUR of discount`,
      ),
      estimateStat("Incremental revenue", inc.incremental_revenue_eur, "incremental-revenue", eur, level),
      estimateStat(
        "Lift in conversion rate",
        inc.absolute_lift,
        "lift",
        (v) => percent(v),
        inc.relative_lift !== null && inc.relative_lift !== undefined
          ? `relative lift ${percent(inc.relative_lift)}`
          : level,
      ),
    ),
    inc.enough_data
      ? null
      : h(
          "p",
          { class: "notice notice-info" },
          "Not enough customers in both groups yet to measure the lift.",
        ),
    scrollingTable(
      "Treated and holdout groups",
      h(
        "table",
        { class: "data compact", id: "groups-table" },
        h("caption", {}, "The two groups: one unit per customer"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Group", "Customers", "Conversions", "Conversion rate", "Revenue", "Revenue per customer"].map(
              (t, i) => h("th", { scope: "col", class: i ? "num" : null }, t),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          groups.map(([name, g]) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, name),
              [
                count(g.customers),
                count(g.conversions),
                estimate(g.conversion_rate, (v) => percent(v)),
                eur(g.revenue_eur),
                eur(g.revenue_per_customer_eur),
              ].map((t) => h("td", { class: "num" }, t)),
            ),
          ),
        ),
      ),
    ),
    (inc.notes || []).length
      ? h(
          "ul",
          { class: "notes" },
          inc.notes.map((n) => h("li", {}, n)),
        )
      : null,
  );
}

const SOCIAL_GROUPS = [
  ["treated", "Treated (sent an offer)"],
  ["control", "Holdout (not sent)"],
  ["offer_driven", "Booked with the offer"],
];
const TOUCHPOINTS = [
  ["mention", "Mention"],
  ["reply", "Reply"],
  ["click", "Click"],
];

/** How many of each group's conversions followed a social touchpoint of the customer. */
export function socialView(social) {
  const names = new Map(CHANNELS);
  const channels = (social.channels || []).map((c) => names.get(c) || c).join(" or ");
  const cell = (metric, text) => h("td", { class: "num", dataset: { metric } }, text);
  const rows = SOCIAL_GROUPS.filter(([key]) => social[key]).map(([key, label]) => {
    const split = social[key];
    const kinds = split.by_touchpoint || {};
    const share = split.conversions ? ` (${percent(split.after_social / split.conversions)})` : "";
    return h(
      "tr",
      { dataset: { group: key } },
      h("th", { scope: "row" }, label),
      cell(`social-${key}-conversions`, count(split.conversions)),
      cell(`social-${key}-after-social`, `${count(split.after_social)}${share}`),
      TOUCHPOINTS.map(([kind]) => cell(`social-${key}-${kind}`, count(kinds[kind] || 0))),
    );
  });
  return h(
    "div",
    {},
    scrollingTable(
      "Social touchpoints",
      h(
        "table",
        { class: "data compact", id: "social-table" },
        h("caption", { class: "visually-hidden" }, "Conversions after a social touchpoint, by group"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Group"),
            h("th", { scope: "col", class: "num" }, "Conversions"),
            h("th", { scope: "col", class: "num" }, "After a social touchpoint"),
            TOUCHPOINTS.map(([, text]) => h("th", { scope: "col", class: "num" }, text)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
    h(
      "p",
      { class: "fineprint", id: "social-explained" },
      `Conversions whose booking came within ${duration(social.window)} after a social touchpoint of the customer: `,
      `a post mentioning us, a port or a route, or a reply to or click on an offer${channels ? ` on ${channels}` : ""}; `,
      "one conversion can count under several kinds.",
    ),
  );
}
