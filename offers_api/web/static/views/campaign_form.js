// The campaign form: the common fields, and the whole body as JSON, kept in step; the
// API's refusals shown next to the fields they name (by their ``loc``) and in a list.

import {
  BODY_FIELDS,
  CHANNELS,
  LANGUAGES,
  TRIGGERS,
  buildTemplates,
  clone,
  getPath,
  setPath,
  uniformTemplates,
} from "../body.js";
import { h, replace } from "../dom.js";
import { geofences, messages, offerValue, routes } from "./campaign_fields.js";
import { Fields, errorSlot, idFor } from "./form_fields.js";

/**
 * The form. ``body``: the campaign's fields; ``network``: {ports, routes} (may be null);
 * ``editable``: false shows it read-only; ``onSubmit(body)`` returns a promise, its
 * ApiError is shown. Returns {element, setBody, body, showErrors, clearErrors}.
 */
export function campaignForm({
  body,
  network,
  editable = true,
  submitLabel,
  onSubmit,
  prefix = "field",
  headingLevel = 2,
}) {
  let state = clone(body);
  const fields = new Fields(prefix);
  const { bindings, slots } = fields;

  // the JSON of the whole body ---------------------------------------------------------

  const jsonId = idFor(prefix, "json");
  const json = h("textarea", {
    id: jsonId,
    class: "json",
    rows: "18",
    spellcheck: "false",
    "aria-describedby": `${jsonId}-hint ${jsonId}-error`,
  });
  const jsonError = errorSlot(jsonId);
  const advanced = h(
    "details",
    { class: "advanced" },
    h("summary", {}, "Advanced (JSON)"),
    h(
      "p",
      { class: "hint", id: `${jsonId}-hint` },
      "The whole campaign as the API takes it. Changes here show in the fields above, and the other way round.",
    ),
    h("label", { for: jsonId }, "Campaign (JSON)"),
    json,
    jsonError,
  );
  const jsonSlot = {
    path: "$",
    label: "Advanced (JSON)",
    element: advanced,
    error: jsonError,
    focusTarget: json,
  };
  slots.push(jsonSlot);
  const generalError = h("p", {
    class: "field-error",
    id: `${idFor(prefix, "campaign")}-error`,
    hidden: true,
  });
  let jsonBroken = null;

  // layout -----------------------------------------------------------------------------

  const name = fields.text("name", "Name", {
    required: true,
    hint: "Shown to marketers, 1 to 120 characters.",
  });
  const description = fields.text("description", "Description", { multiline: true });
  const about = h(
    "fieldset",
    { class: "group" },
    h("legend", {}, "About"),
    name.element,
    description.element,
  );

  const cost = fields.numeric("offer.cost_eur", "Cost of one redemption (EUR)", { step: "0.01", min: "0" });
  const offer = h(
    "fieldset",
    { class: "group", dataset: { path: "offer" } },
    h("legend", {}, "Offer"),
    offerValue(fields),
    cost.element,
    routes(fields, network, getPath(state, "offer.route_ids")).element,
  );
  fields.slot("offer", "Offer", offer, offer.querySelector("select"));

  const triggers = fields.checks("targeting.triggers", "Triggers", TRIGGERS, {
    hint: "The signals that make a customer a candidate.",
  });
  const languages = fields.checks("targeting.languages", "Languages", LANGUAGES, {
    hint: "None chosen: every language.",
    omitEmpty: true,
    affectsTemplates: false,
  });
  const start = fields.moment("schedule.start", "Start (UTC)");
  const end = fields.moment("schedule.end", "End (UTC)", "The campaign stops sending at this moment.");
  const who = h(
    "fieldset",
    { class: "group", dataset: { path: "targeting" } },
    h("legend", {}, "Who and when"),
    triggers.element,
    geofences(fields, network).element,
    languages.element,
    h("div", { class: "field-row" }, start.element, end.element),
  );
  fields.slot("targeting", "Targeting", who, triggers.focusTarget);
  fields.slot("schedule", "Schedule", who, start.control);

  const channels = fields.checks("channels", "Channels", CHANNELS, { affectsTemplates: true });
  const say = h(
    "fieldset",
    { class: "group" },
    h("legend", {}, "Channels and messages"),
    channels.element,
    messages(fields).element,
  );

  const holdout = fields.numeric("holdout_share", "Holdout share (0 to 0.5)", {
    step: "0.01",
    min: "0",
    max: "0.5",
    hint: "Share of eligible customers held out to measure the lift: decided, not sent.",
  });
  const perDay = fields.numeric("frequency_cap.per_day", "Offers per customer per day", {
    min: "1",
    max: "10",
  });
  const perWeek = fields.numeric("frequency_cap.per_week", "Offers per customer per week", {
    min: "1",
    max: "50",
  });
  const maxSends = fields.numeric("budget.max_sends", "Most offers sent", { min: "1" });
  const maxRedemptions = fields.numeric("budget.max_redemptions", "Most offers redeemed", { min: "1" });
  const maxSpend = fields.numeric("budget.max_discount_spend_eur", "Most cost of redemptions (EUR)", {
    step: "0.01",
    min: "0",
  });
  const expiry = fields.numeric("offer_expiry_hours", "Offer valid for (hours)", { min: "1", max: "720" });
  const priority = fields.numeric("priority_eur", "Value of one redemption (EUR)", {
    step: "0.01",
    min: "0",
    hint: "Ranks this campaign's offers against the others'.",
  });
  const budget = h(
    "fieldset",
    { class: "group-inner", dataset: { path: "budget" } },
    h("legend", {}, "Budget (at least one, to activate)"),
    h("div", { class: "field-row" }, maxSends.element, maxRedemptions.element, maxSpend.element),
  );
  fields.slot("budget", "Budget", budget, maxSends.control);
  const capRow = h("div", { class: "field-row" }, perDay.element, perWeek.element);
  const frequency = h(
    "fieldset",
    { class: "group-inner", dataset: { path: "frequency_cap" } },
    h("legend", {}, "Frequency cap"),
    capRow,
  );
  fields.slot("frequency_cap", "Frequency cap", frequency, perDay.control);
  const limits = h(
    "fieldset",
    { class: "group" },
    h("legend", {}, "Limits"),
    h("div", { class: "field-row" }, holdout.element, expiry.element, priority.element),
    frequency,
    budget,
  );

  const pauseOnAlerts = fields.flag(
    "guardrails.pause_on_social_alerts",
    "Pause on a route or port while social listening has an open alert there",
    "Other routes and ports keep sending; it sends there again once the alert closes.",
  );
  const guardrails = h(
    "fieldset",
    { class: "group", dataset: { path: "guardrails" } },
    h("legend", {}, "Guardrails"),
    pauseOnAlerts.element,
  );
  fields.slot("guardrails", "Guardrails", guardrails, pauseOnAlerts.control);

  const summaryList = h("ul");
  const summaryTitle = h(`h${headingLevel}`, { class: "summary-title" });
  const summary = h(
    "div",
    { class: "error-summary", role: "alert", tabindex: "-1", hidden: true },
    summaryTitle,
    summaryList,
  );
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, submitLabel);
  const controls = h(
    "fieldset",
    { class: "form-body", disabled: !editable },
    h("legend", { class: "visually-hidden" }, "Campaign"),
    about,
    offer,
    who,
    say,
    limits,
    guardrails,
  );
  const form = h(
    "form",
    { class: "campaign-form", novalidate: true },
    summary,
    controls,
    advanced,
    editable ? h("div", { class: "actions" }, submit, status) : null,
    generalError,
  );
  json.readOnly = !editable;

  // keeping the fields, the JSON and the body in step -------------------------------

  function writeJson() {
    if (document.activeElement !== json) json.value = JSON.stringify(state, null, 2);
  }

  function writeAll() {
    for (const b of bindings) if (b.write) b.write(state);
    writeJson();
  }

  const messageBinding = bindings.find((b) => b.path === "templates");

  function fromControl(target) {
    const binding = bindings.find((b) => b.element.contains(target));
    if (!binding) return;
    const wasUniform = uniformTemplates(state) || !(state.templates || []).length;
    binding.read(state);
    if (binding.affectsTemplates && wasUniform) {
      const texts = messageBinding.texts();
      const built = buildTemplates(state.channels || [], texts);
      setPath(state, "templates", built);
    }
    writeJson();
  }

  controls.addEventListener("input", (event) => fromControl(event.target));
  controls.addEventListener("change", (event) => fromControl(event.target));
  json.addEventListener("input", () => {
    try {
      const parsed = JSON.parse(json.value);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error("the campaign must be a JSON object");
      state = parsed;
      jsonBroken = null;
      jsonError.hidden = true;
      json.removeAttribute("aria-invalid");
      for (const b of bindings) if (b.write) b.write(state);
    } catch (error) {
      jsonBroken = `Not valid JSON: ${error.message}`;
      jsonError.textContent = jsonBroken;
      jsonError.hidden = false;
      json.setAttribute("aria-invalid", "true");
    }
  });
  json.addEventListener("blur", () => {
    if (!jsonBroken) writeJson();
  });

  // errors -----------------------------------------------------------------------------

  const generalSlot = { path: "", label: "Campaign", error: generalError, focusTarget: null };
  slots.push(generalSlot);

  function slotFor(path) {
    if (!BODY_FIELDS.includes(path.split(".")[0]) && path !== "$") return generalSlot;
    let best = null;
    for (const entry of slots) {
      if (path === entry.path || path.startsWith(`${entry.path}.`)) {
        if (!best || entry.path.length > best.path.length) best = entry;
      }
    }
    return best || jsonSlot;
  }

  function clearErrors() {
    for (const entry of slots) {
      entry.error.hidden = true;
      entry.error.textContent = "";
      const control = entry.control || entry.focusTarget;
      if (control && control.removeAttribute) control.removeAttribute("aria-invalid");
    }
    summary.hidden = true;
    replace(summaryList);
  }

  /** Show ``found`` ([{path, msg}]) next to their fields and in the list at the top. */
  function showErrors(found, title) {
    clearErrors();
    const grouped = new Map();
    for (const item of found) {
      const entry = slotFor(item.path);
      if (!grouped.has(entry)) grouped.set(entry, []);
      grouped.get(entry).push(item);
    }
    for (const [entry, items] of grouped) {
      entry.error.textContent = items
        .map((i) => (i.path === entry.path ? i.msg : `${i.path}: ${i.msg}`))
        .join(" · ");
      entry.error.hidden = false;
      const control = entry.control || null;
      if (control) control.setAttribute("aria-invalid", "true");
      if (entry === jsonSlot) advanced.open = true;
    }
    summaryTitle.textContent = title;
    replace(
      summaryList,
      found.map((item) => {
        const entry = slotFor(item.path);
        const where =
          entry === generalSlot
            ? item.path || entry.label
            : item.path === entry.path || item.path === "$"
              ? entry.label
              : `${entry.label} (${item.path})`;
        return h(
          "li",
          { dataset: { path: item.path } },
          h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => {
                if (entry === jsonSlot) advanced.open = true;
                (entry.focusTarget || submit).focus();
              },
            },
            `${where}: ${item.msg}`,
          ),
        );
      }),
    );
    summary.hidden = false;
    summary.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editable) return;
    if (jsonBroken) {
      showErrors([{ path: "$", msg: jsonBroken }], "The campaign was not sent: its JSON is not valid");
      return;
    }
    clearErrors();
    submit.disabled = true;
    status.textContent = "Sending…";
    try {
      await onSubmit(clone(state));
      status.textContent = "";
    } catch (error) {
      status.textContent = "";
      if (error.name === "AuthError") return;
      const found = error.fields && error.fields.length ? error.fields : [{ path: "$", msg: error.message }];
      const what = found.length === 1 ? "1 problem" : `${found.length} problems`;
      showErrors(found, `The campaign was not saved: ${what}`);
    } finally {
      submit.disabled = false;
    }
  });

  writeAll();

  return {
    element: form,
    body: () => clone(state),
    setBody(next) {
      state = clone(next);
      clearErrors();
      writeAll();
    },
    showErrors,
    clearErrors,
    setStatus(text) {
      status.textContent = text;
    },
  };
}
