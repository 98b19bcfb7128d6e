// Every campaign, its status and its live numbers.

import { api } from "../api.js";
import { h, replace, scrollingTable } from "../dom.js";
import { count, day, moment, words } from "../format.js";
import { offerText, statusBadge } from "./parts.js";

const STATUSES = ["draft", "active", "paused", "ended"];

function liveCell(metric, value) {
  return h("td", { class: "num", dataset: { metric } }, count(value));
}

function row(campaign, activity) {
  const numbers = activity || {};
  return h(
    "tr",
    { dataset: { campaignId: campaign.id } },
    h(
      "th",
      { scope: "row" },
      h("a", { href: `#/campaigns/${encodeURIComponent(campaign.id)}` }, campaign.name),
    ),
    h("td", {}, statusBadge(campaign.status)),
    h("td", {}, campaign.targeting.triggers.map(words).join(", ")),
    h("td", {}, offerText(campaign.offer)),
    h("td", { class: "nowrap" }, `${day(campaign.schedule.start)} – ${day(campaign.schedule.end)}`),
    liveCell("decided", numbers.decided || 0),
    liveCell("sent", numbers.sent || 0),
    h("td", { class: "nowrap", dataset: { metric: "last" } }, moment(numbers.last_decision_at)),
  );
}

export function renderCampaigns(main, { live }) {
  document.title = "Campaigns · Moby offers";
  const status = h(
    "select",
    { id: "status-filter" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((s) => h("option", { value: s }, s)),
  );
  const summary = h(
    "p",
    { class: "summary", id: "campaigns-summary", "aria-live": "polite" },
    "Loading the campaigns…",
  );
  const body = h("tbody");
  const table = h(
    "table",
    { class: "data", id: "campaigns-table" },
    h(
      "caption",
      {},
      "Decided and sent count the engine's decisions for each campaign as they happen; ",
      "conversions and lift are on each campaign's page.",
    ),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Campaign", "Status", "Triggers", "Offer", "Schedule (UTC)"].map((t) =>
          h("th", { scope: "col" }, t),
        ),
        ["Decided", "Sent"].map((t) => h("th", { scope: "col", class: "num" }, t)),
        h("th", { scope: "col" }, "Last decision"),
      ),
    ),
    body,
  );
  replace(
    main,
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Campaigns"),
      h("a", { class: "button", href: "#/new" }, "New campaign"),
    ),
    h("div", { class: "toolbar" }, h("label", { for: "status-filter" }, "Show"), status),
    summary,
    scrollingTable("Campaigns", table),
  );

  let campaigns = [];
  let alive = true;
  let loading = null;

  function draw() {
    const shown = campaigns.filter((c) => !status.value || c.status === status.value);
    const byStatus = STATUSES.map((s) => [s, campaigns.filter((c) => c.status === s).length]).filter(
      ([, n]) => n,
    );
    summary.textContent = campaigns.length
      ? `${campaigns.length} campaigns: ${byStatus.map(([s, n]) => `${n} ${s}`).join(", ")}.`
      : "No campaign yet. Create one with “New campaign”.";
    replace(
      body,
      shown.length
        ? shown.map((c) => row(c, live.campaign(c.id)))
        : h(
            "tr",
            {},
            h("td", { colspan: "8" }, campaigns.length ? "No campaign has this status." : "No campaign yet."),
          ),
    );
  }

  function update() {
    for (const tr of body.querySelectorAll("tr[data-campaign-id]")) {
      const numbers = live.campaign(tr.dataset.campaignId) || {};
      const cells = {
        decided: count(numbers.decided || 0),
        sent: count(numbers.sent || 0),
        last: moment(numbers.last_decision_at),
      };
      for (const [metric, text] of Object.entries(cells)) {
        const cell = tr.querySelector(`[data-metric="${metric}"]`);
        if (cell && cell.textContent !== text) cell.textContent = text;
      }
    }
  }

  async function load() {
    if (loading) return loading;
    loading = (async () => {
      try {
        const found = await api.get("/v1/campaigns");
        if (!alive) return;
        campaigns = found.slice().reverse(); // newest first
        draw();
      } catch (error) {
        if (!alive || error.name === "AuthError") return;
        summary.textContent = `The campaigns could not be loaded: ${error.message}`;
        replace(
          body,
          h("tr", {}, h("td", { colspan: "8" }, h("button", { type: "button", onclick: load }, "Try again"))),
        );
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function changed(event) {
    const known = new Map(campaigns.map((c) => [c.id, c]));
    const stale = event.detail.some((c) => {
      const mine = known.get(c.id);
      return !mine || mine.version !== c.version || mine.status !== c.status;
    });
    if (stale || event.detail.length !== campaigns.length) load();
  }

  status.addEventListener("change", draw);
  live.addEventListener("activity", update);
  live.addEventListener("campaigns", changed);
  load();
  return () => {
    alive = false;
    live.removeEventListener("activity", update);
    live.removeEventListener("campaigns", changed);
  };
}
