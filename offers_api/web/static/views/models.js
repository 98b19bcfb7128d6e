// The scoring models: every registered version with its held-out metrics, which one
// decides (the champion) and which scores beside it in shadow (the challenger).

import { api } from "../api.js";
import { h, replace, scrollingTable } from "../dom.js";
import { count, day, moment, number, words } from "../format.js";
import { notice } from "./parts.js";

const METRIC_ORDER = [
  "auc",
  "oracle_auc",
  "average_precision",
  "log_loss",
  "calibration_error",
  "lift_top_decile",
];
const METRIC_TEXT = {
  auc: "AUC",
  oracle_auc: "Oracle AUC",
  average_precision: "Average precision",
  log_loss: "Log loss",
  calibration_error: "Calibration (ECE)",
  lift_top_decile: "Lift of the top decile",
};

function metricNames(versions) {
  const found = new Set(versions.flatMap((v) => Object.keys(v.metrics || {})));
  const known = METRIC_ORDER.filter((m) => found.has(m));
  return [...known, ...[...found].filter((m) => !METRIC_ORDER.includes(m)).sort()];
}

function roleBadges(version) {
  return [
    version.champion ? h("span", { class: ["badge", "role-champion"] }, "champion") : null,
    version.challenger ? h("span", { class: ["badge", "role-challenger"] }, "challenger") : null,
  ];
}

function detailsOf(model) {
  const data = model.data || {};
  const training = model.training || {};
  const pairs = [
    ["Created", moment(model.created_at)],
    ["Trained to replace", model.parent || "–"],
    ["Rows", data.rows !== undefined ? count(data.rows) : "–"],
    ["Data window", data.window_start ? `${moment(data.window_start)} to ${moment(data.window_end)}` : "–"],
    ["LightGBM", model.lightgbm_version],
    ["Features", `${(model.features || []).length}: ${(model.features || []).map((f) => f.name).join(", ")}`],
    [
      "Training",
      Object.entries(training)
        .filter(([, v]) => typeof v !== "object")
        .map(([k, v]) => `${words(k)} ${v}`)
        .join(", ") || "–",
    ],
  ];
  return h(
    "dl",
    { class: "details" },
    pairs.map(([k, v]) => h("div", { class: "pair" }, h("dt", {}, k), h("dd", {}, v))),
  );
}

export function renderModels(main) {
  document.title = "Models · Moby offers";
  let alive = true;
  const summary = h("div", { id: "models-summary" }, notice("Loading the registered models…"));
  const tableBox = h("div", {});
  const detailBox = h("div", { id: "model-details", "aria-live": "polite" });
  replace(
    main,
    h("h1", {}, "Models"),
    h(
      "p",
      { class: "lead" },
      "The scoring models of the registry the decision workers read. The champion decides; a challenger, if any, ",
      "scores the same candidates in shadow and is never acted on. Metrics are measured on each version's held-out decisions.",
    ),
    summary,
    tableBox,
    detailBox,
  );

  async function showDetails(version, button) {
    replace(detailBox, notice(`Loading ${version}…`));
    try {
      const model = await api.get(`/v1/models/${encodeURIComponent(version)}`, { keepSignedIn: true });
      if (!alive) return;
      replace(
        detailBox,
        h(
          "section",
          { class: "panel", "aria-labelledby": "model-details-title" },
          h("h2", { id: "model-details-title" }, version),
          detailsOf(model),
        ),
      );
    } catch (error) {
      if (!alive) return;
      const why = error.status === 403 ? "Only data scientists may read a version in full." : error.message;
      replace(detailBox, notice(`${version}: ${why}`, "warning"));
    }
    if (button) button.setAttribute("aria-expanded", "true");
  }

  (async () => {
    let list;
    try {
      list = await api.get("/v1/models");
    } catch (error) {
      if (alive && error.name !== "AuthError")
        replace(summary, notice(`The models could not be read: ${error.message}`, "warning"));
      return;
    }
    if (!alive) return;
    const versions = list.versions.slice().reverse(); // newest first
    const metrics = metricNames(versions);
    const champion = versions.find((v) => v.champion);
    replace(
      summary,
      h(
        "dl",
        { class: "stats" },
        h(
          "div",
          { class: "stat" },
          h("dt", { class: "stat-label" }, "Champion"),
          h("dd", { class: "stat-value version", id: "champion" }, list.champion || "none"),
        ),
        h(
          "div",
          { class: "stat" },
          h("dt", { class: "stat-label" }, "Challenger"),
          h("dd", { class: "stat-value version", id: "challenger" }, list.challenger || "none"),
        ),
        h(
          "div",
          { class: "stat" },
          h("dt", { class: "stat-label" }, "Versions"),
          h("dd", { class: "stat-value" }, String(versions.length)),
        ),
        champion && champion.metrics.auc !== undefined
          ? h(
              "div",
              { class: "stat" },
              h("dt", { class: "stat-label" }, "Champion's AUC"),
              h("dd", { class: "stat-value" }, number(champion.metrics.auc, 3)),
            )
          : null,
      ),
    );
    if (!versions.length) {
      replace(tableBox, h("p", {}, "No model is registered yet."));
      return;
    }
    const table = h(
      "table",
      { class: "data", id: "models-table" },
      h("caption", {}, "Registered versions, newest first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Version"),
          h("th", { scope: "col" }, "Role"),
          h("th", { scope: "col" }, "Created"),
          h("th", { scope: "col" }, "Training data"),
          metrics.map((m) => h("th", { scope: "col", class: "num" }, METRIC_TEXT[m] || words(m))),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Details")),
        ),
      ),
      h(
        "tbody",
        {},
        versions.map((v) =>
          h(
            "tr",
            { dataset: { version: v.version }, class: v.champion ? "is-champion" : null },
            h("th", { scope: "row", class: "nowrap" }, v.version),
            h(
              "td",
              {},
              v.damaged ? h("span", { class: "badge status-ended" }, "damaged") : roleBadges(v),
              v.damaged ? ` ${v.damaged}` : null,
            ),
            h("td", { class: "nowrap", title: moment(v.created_at) }, day(v.created_at)),
            h(
              "td",
              { class: "nowrap" },
              v.window_start ? `${day(v.window_start)} – ${day(v.window_end)}` : "–",
            ),
            metrics.map((m) =>
              h("td", { class: "num" }, v.metrics[m] === undefined ? "–" : number(v.metrics[m], 3)),
            ),
            h(
              "td",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "secondary small",
                  "aria-controls": "model-details",
                  onclick: (event) => showDetails(v.version, event.currentTarget),
                },
                "Details",
                h("span", { class: "visually-hidden" }, ` of ${v.version}`),
              ),
            ),
          ),
        ),
      ),
    );
    replace(tableBox, scrollingTable("Model versions", table));
  })();

  return () => {
    alive = false;
  };
}
