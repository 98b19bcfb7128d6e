// One campaign: its status and lifecycle, live activity, report, configuration and history.

import { ApiError, api, campaignPath } from "../api.js";
import { bodyOf, BODY_FIELDS } from "../body.js";
import { announce, h, replace } from "../dom.js";
import { moment, words } from "../format.js";
import { loadNetwork } from "../network.js";
import { historyTable, latestDecisions, liveNumbers } from "./campaign_activity.js";
import { campaignForm } from "./campaign_form.js";
import { guardrailView } from "./campaign_guardrail.js";
import { notice, offerText, statusBadge } from "./parts.js";
import {
  funnelView,
  incrementalityView,
  socialView,
  suppressionView,
  timelineView,
} from "./report.js";

const ACTIONS = {
  draft: ["activate", "end"],
  active: ["pause", "end"],
  paused: ["resume", "end"],
  ended: [],
};
const ACTION_TEXT = { activate: "Activate", pause: "Pause", resume: "Resume", end: "End" };
const DONE_TEXT = { activate: "activated", pause: "paused", resume: "resumed", end: "ended" };
const REPORT_EVERY_MS = 4000;

function section(name, title, ...children) {
  const id = `panel-${name}`;
  return h(
    "section",
    { class: "panel", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title),
    ...children,
  );
}

export function renderCampaign(main, { live, alerts, params }) {
  const [id] = params;
  let campaign = null;
  let network = null;
  let alive = true;
  let form = null;
  let formVersion = null;
  let formOriginal = null;
  let lastLive = null;
  let report = null;
  let reportBusy = false;
  let reportAgain = false;
  let reportAt = 0;
  let reportTimer = null;
  let confirmingEnd = false;

  const title = h("h1", {}, "Campaign");
  const badge = h("span", { id: "campaign-status" });
  const lead = h("p", { class: "lead" });
  const lifecycle = h("div", { class: "lifecycle", id: "lifecycle" });
  const lifecycleMessage = h("div", { class: "form-error", role: "alert", id: "lifecycle-message" });
  const guardBox = h("div", { class: "guardrail", id: "guardrail", "aria-live": "polite" });
  const liveBox = h("div", { id: "live-numbers" });
  const recentBox = h("div", {});
  const funnelBox = h("div", {}, notice("Loading the report…"));
  const timelineBox = h("div", { class: "timeline-box" });
  const incrementBox = h("div", {});
  const suppressionBox = h("div", {});
  const socialBox = h("div", {});
  const socialPanel = section("social", "Social touchpoints before conversions", socialBox);
  socialPanel.hidden = true;
  const reportStatus = h("p", { class: "fineprint", id: "report-status", "aria-live": "polite" });
  const configBox = h("div", {}, notice("Loading…"));
  const auditBox = h("div", {});

  replace(
    main,
    h("div", { class: "breadcrumb" }, h("a", { href: "#/campaigns" }, "← All campaigns")),
    h("div", { class: "view-head" }, title, badge),
    lead,
    section("status", "Status", lifecycle, lifecycleMessage, guardBox),
    h(
      "div",
      { class: "panels" },
      section("live", "Live activity", liveBox, recentBox),
      section("funnel", "Funnel", funnelBox),
      section("timeline", "Treated versus holdout over time", timelineBox),
      section("incrementality", "Incremental effect", incrementBox),
      section("suppression", "Suppression reasons", suppressionBox),
      socialPanel,
    ),
    reportStatus,
    section("configuration", "Configuration", configBox),
    section("history", "History", auditBox),
  );

  // the campaign and its lifecycle ------------------------------------------------------

  function drawHead() {
    document.title = `${campaign.name} · Moby offers`;
    title.textContent = campaign.name;
    replace(badge, statusBadge(campaign.status));
    replace(
      lead,
      campaign.description ? `${campaign.description} · ` : "",
      `${offerText(campaign.offer)} · triggers: ${campaign.targeting.triggers.map(words).join(", ")} · `,
      `${moment(campaign.schedule.start)} to ${moment(campaign.schedule.end)} · version ${campaign.version}`,
    );
    drawLifecycle();
    drawGuardrail();
  }

  function drawGuardrail() {
    if (campaign) replace(guardBox, guardrailView(campaign, network, alerts.open));
  }

  function drawLifecycle() {
    const actions = ACTIONS[campaign.status] || [];
    const buttons = actions.map((action) =>
      h(
        "button",
        {
          type: "button",
          class: action === "end" ? "danger" : null,
          dataset: { action },
          onclick: () => (action === "end" ? confirmEnd() : move(action)),
        },
        ACTION_TEXT[action],
      ),
    );
    const explain = {
      draft: "A draft sends nothing. Activate it to start deciding and sending.",
      active: "Deciding and sending now. Pause it to edit it.",
      paused: "Paused: it sends nothing, and its configuration can be edited.",
      ended: "This campaign has ended for good.",
    }[campaign.status];
    replace(
      lifecycle,
      h("p", {}, "Status: ", h("strong", { dataset: { metric: "status" } }, campaign.status), `. ${explain}`),
      buttons.length ? h("div", { class: "actions" }, buttons) : null,
      confirmingEnd
        ? h(
            "div",
            { class: "confirm", role: "group", "aria-label": "Confirm ending" },
            h("p", {}, "End this campaign for good? It cannot be resumed."),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                dataset: { action: "end-confirm" },
                onclick: () => move("end"),
              },
              "Yes, end it",
            ),
            h("button", { type: "button", class: "secondary", onclick: cancelEnd }, "Keep it"),
          )
        : null,
    );
  }

  function confirmEnd() {
    confirmingEnd = true;
    drawLifecycle();
    const yes = lifecycle.querySelector('[data-action="end-confirm"]');
    if (yes) yes.focus();
  }

  function cancelEnd() {
    confirmingEnd = false;
    drawLifecycle();
    const end = lifecycle.querySelector('[data-action="end"]');
    if (end) end.focus();
  }

  async function move(action) {
    confirmingEnd = false;
    replace(lifecycleMessage);
    for (const button of lifecycle.querySelectorAll("button")) button.disabled = true;
    try {
      const moved = await api.post(campaignPath(id, `/${action}`), undefined, {
        headers: { "If-Match": `"${campaign.version}"` },
      });
      setCampaign(moved);
      announce(`Campaign ${DONE_TEXT[action]}: it is now ${moved.status}.`);
      const next = lifecycle.querySelector("button");
      (next || title).focus();
      loadAudit();
    } catch (error) {
      if (error.name === "AuthError") return;
      drawLifecycle();
      const items = error.fields && error.fields.length ? error.fields : [{ path: "", msg: error.message }];
      replace(
        lifecycleMessage,
        h("p", {}, `The campaign could not be ${DONE_TEXT[action]}:`),
        h(
          "ul",
          {},
          items.map((f) => h("li", { dataset: { path: f.path } }, f.path ? `${f.path}: ${f.msg}` : f.msg)),
        ),
      );
      if (form && error.status === 422 && error.fields.length) {
        form.showErrors(error.fields, `Fix these before you ${ACTION_TEXT[action].toLowerCase()} it`);
      }
      if (error.status === 409) load();
    }
  }

  function setCampaign(next, force = false) {
    const statusChanged = !campaign || campaign.status !== next.status;
    campaign = next;
    drawHead();
    if (!form || force || formVersion !== campaign.version) drawConfig(force || statusChanged);
  }

  // the configuration -----------------------------------------------------------------

  function unsaved() {
    return Boolean(form) && JSON.stringify(form.body()) !== JSON.stringify(formOriginal);
  }

  function drawConfig(force) {
    const editable = campaign.status === "draft" || campaign.status === "paused";
    if (!force && editable && unsaved()) {
      form.setStatus(
        `The campaign changed meanwhile (version ${campaign.version}): saving will be refused; reload to see it.`,
      );
      return;
    }
    const original = bodyOf(campaign);
    formOriginal = original;
    formVersion = campaign.version;
    form = campaignForm({
      body: original,
      network,
      editable,
      prefix: "edit",
      headingLevel: 3,
      submitLabel: "Save changes",
      onSubmit: async (body) => {
        const changes = {};
        for (const name of BODY_FIELDS) {
          if (JSON.stringify(body[name]) !== JSON.stringify(original[name]) && body[name] !== undefined)
            changes[name] = body[name];
        }
        if (!Object.keys(changes).length) {
          form.setStatus("Nothing changed.");
          return;
        }
        let saved;
        try {
          // based on the version the form shows: refused (409) if it changed meanwhile
          saved = await api.patch(campaignPath(id), changes, { headers: { "If-Match": `"${formVersion}"` } });
        } catch (error) {
          if (error.status === 409) offerReload();
          throw error;
        }
        setCampaign(saved, true);
        announce(`Saved: version ${saved.version}.`);
        loadAudit();
      },
    });
    if (editable) {
      replace(
        configBox,
        h(
          "p",
          {},
          "Change the fields and save. The API checks every change; what it refuses is shown next to the field.",
        ),
        form.element,
      );
    } else {
      replace(
        configBox,
        h(
          "p",
          {},
          campaign.status === "ended" ? "An ended campaign cannot change." : "Pause the campaign to edit it.",
        ),
        h("details", { class: "read-only" }, h("summary", {}, "Show the configuration"), form.element),
      );
    }
  }

  function offerReload() {
    const reload = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          await load();
          drawConfig(true);
          const name = configBox.querySelector("input");
          if (name) name.focus();
        },
      },
      "Load the latest version",
    );
    configBox.prepend(h("div", { class: "notice notice-warning" }, "Your changes were not saved. ", reload));
  }

  // live activity ------------------------------------------------------------------

  function drawLive() {
    const numbers = live.campaign(id);
    const recent = ((live.snapshot && live.snapshot.recent) || []).filter((d) => d.campaign_id === id);
    replace(liveBox, liveNumbers(numbers, live.state));
    replace(recentBox, latestDecisions(recent.slice(0, 8)));
  }

  function onActivity() {
    const numbers = live.campaign(id);
    const key = JSON.stringify(
      numbers ? [numbers.decided, numbers.sent, numbers.by_outcome, numbers.by_delivery] : null,
    );
    drawLive();
    if (key !== lastLive) {
      const first = lastLive === null;
      lastLive = key;
      if (!first) scheduleReport();
    }
  }

  function onCampaigns(event) {
    const mine = event.detail.find((c) => c.id === id);
    if (mine && campaign && (mine.version !== campaign.version || mine.status !== campaign.status)) load();
  }

  // the report -----------------------------------------------------------------------

  function scheduleReport() {
    if (reportBusy) {
      reportAgain = true;
      return;
    }
    if (reportTimer) return;
    const wait = Math.max(0, reportAt + REPORT_EVERY_MS - Date.now());
    reportTimer = window.setTimeout(() => {
      reportTimer = null;
      loadReport();
    }, wait);
  }

  function timelineWidth() {
    return Math.max(280, timelineBox.clientWidth || 640);
  }

  function drawReport() {
    if (!report) return;
    replace(funnelBox, funnelView(report.funnel));
    replace(
      timelineBox,
      report.timeline
        ? timelineView(report.timeline, timelineWidth())
        : h("p", {}, "This report has no timeline."),
    );
    replace(incrementBox, incrementalityView(report.incrementality));
    replace(suppressionBox, suppressionView(report.funnel));
    socialPanel.hidden = !report.social;
    replace(socialBox, report.social ? socialView(report.social) : null);
  }

  async function loadReport() {
    reportBusy = true;
    reportAt = Date.now();
    reportStatus.textContent = report ? "Updating the report…" : "";
    try {
      const next = await api.get(campaignPath(id, "/report"));
      if (!alive) return;
      report = next;
      drawReport();
      reportStatus.textContent = `Report updated at ${moment(new Date().toISOString())}.`;
    } catch (error) {
      if (!alive || error.name === "AuthError") return;
      const text = `The report could not be read: ${error.message}`;
      if (report) reportStatus.textContent = text;
      else
        replace(
          funnelBox,
          notice(text, "warning"),
          h("button", { type: "button", onclick: loadReport }, "Try again"),
        );
    } finally {
      reportBusy = false;
      if (reportAgain && alive) {
        reportAgain = false;
        scheduleReport();
      }
    }
  }

  // history ---------------------------------------------------------------------------

  async function loadAudit() {
    try {
      const entries = await api.get(campaignPath(id, "/audit"));
      if (!alive) return;
      replace(auditBox, historyTable(entries));
    } catch (error) {
      if (alive && error.name !== "AuthError")
        replace(auditBox, notice(`The history could not be read: ${error.message}`, "warning"));
    }
  }

  // loading -------------------------------------------------------------------------

  async function load() {
    try {
      const found = await api.get(campaignPath(id));
      if (!alive) return;
      setCampaign(found);
    } catch (error) {
      if (!alive || error.name === "AuthError") return;
      if (error instanceof ApiError && error.status === 404) {
        title.textContent = "No such campaign";
        replace(
          main,
          h("h1", { tabindex: "-1" }, "No such campaign"),
          h("p", {}, error.message),
          h("p", {}, h("a", { href: "#/campaigns" }, "Back to the campaigns")),
        );
        alive = false;
        return;
      }
      replace(configBox, notice(`The campaign could not be loaded: ${error.message}`, "warning"));
    }
  }

  (async () => {
    try {
      network = await loadNetwork();
    } catch {
      network = null; // the form then lists only the routes and ports the campaign names
    }
    if (!alive) return;
    await load();
    if (!alive) return;
    loadReport();
    loadAudit();
  })();

  let lastWidth = 0;
  const resize = new ResizeObserver(() => {
    const width = timelineBox.clientWidth;
    if (report && Math.abs(width - lastWidth) > 24) {
      lastWidth = width;
      replace(
        timelineBox,
        report.timeline
          ? timelineView(report.timeline, timelineWidth())
          : h("p", {}, "This report has no timeline."),
      );
    }
  });
  resize.observe(timelineBox);
  drawLive();
  live.addEventListener("activity", onActivity);
  live.addEventListener("campaigns", onCampaigns);
  alerts.addEventListener("change", drawGuardrail);
  if (live.snapshot) onActivity();
  return () => {
    alive = false;
    resize.disconnect();
    window.clearTimeout(reportTimer);
    live.removeEventListener("activity", onActivity);
    live.removeEventListener("campaigns", onCampaigns);
    alerts.removeEventListener("change", drawGuardrail);
  };
}
