// The parts of the campaign form that know campaigns: the offer and its value, the
// routes, the port geofences and the messages in each language.

import {
  LANGUAGES,
  OFFER_KINDS,
  UPGRADES,
  VALUE_FIELD,
  getPath,
  setPath,
  textsOf,
  uniformTemplates,
} from "../body.js";
import { h } from "../dom.js";
import { errorSlot, idFor, numberOf } from "./form_fields.js";

export function offerValue(fields) {
  const kind = h(
    "select",
    {},
    OFFER_KINDS.map(([v, t]) => h("option", { value: v }, t)),
  );
  const percent = h("input", { type: "number", step: "1", min: "1", max: "90", inputmode: "numeric" });
  const amount = h("input", { type: "number", step: "0.01", min: "0", inputmode: "decimal" });
  const upgrade = h(
    "select",
    {},
    UPGRADES.map(([v, t]) => h("option", { value: v }, t)),
  );
  const parts = {
    kind: fields.field("offer.kind", "Kind of offer", kind),
    percent: fields.field("offer.percent", "Discount (%)", percent, "1 to 90 % off the fare."),
    amount_eur: fields.field(
      "offer.amount_eur",
      "Amount (EUR)",
      amount,
      "Off the fare, or to spend on board.",
    ),
    upgrade: fields.field("offer.upgrade", "Upgrade", upgrade),
  };
  for (const part of Object.values(parts)) fields.slots.push(part);
  const show = () => {
    const needed = VALUE_FIELD[kind.value];
    for (const name of ["percent", "amount_eur", "upgrade"]) parts[name].element.hidden = name !== needed;
  };
  const element = h(
    "div",
    { class: "field-row" },
    Object.values(parts).map((p) => p.element),
  );
  fields.bindings.push({
    path: "offer.kind",
    element,
    read(s) {
      setPath(s, "offer.kind", kind.value);
      const needed = VALUE_FIELD[kind.value];
      for (const name of ["percent", "amount_eur", "upgrade"]) {
        if (name !== needed) setPath(s, `offer.${name}`, undefined);
      }
      const value = needed === "upgrade" ? upgrade.value : numberOf(needed === "percent" ? percent : amount);
      setPath(s, `offer.${needed}`, value);
      show();
    },
    write(s) {
      kind.value = getPath(s, "offer.kind") || "percent_discount";
      const value = (name) => getPath(s, `offer.${name}`);
      percent.value = value("percent") ?? "";
      amount.value = value("amount_eur") ?? "";
      upgrade.value = value("upgrade") || "reserved_seat";
      show();
    },
  });
  return element;
}

export function routes(fields, network, named) {
  const id = idFor(fields.prefix, "offer.route_ids");
  const all = h("input", { type: "checkbox", id: `${id}-all` });
  const known = ((network && network.routes) || []).map((r) => r.route_id);
  const names = new Map(((network && network.ports) || []).map((p) => [p.code, p.name]));
  const listed = [...new Set([...known, ...(named || [])])];
  const boxes = listed.map((route) => {
    const box = h("input", { type: "checkbox", id: `${id}-${route}`, value: route });
    const [from, to] = route.split("-");
    const text = names.has(from) ? `${route} (${names.get(from)} → ${names.get(to) || to})` : route;
    return { route, box, element: h("label", { class: "check", for: box.id }, box, text) };
  });
  const error = errorSlot(id);
  const element = h(
    "fieldset",
    { class: "field checks", id, dataset: { path: "offer.route_ids" }, "aria-describedby": error.id },
    h("legend", {}, "Routes it applies to"),
    h("label", { class: "check", for: all.id }, all, "Every route and sailing"),
    h(
      "div",
      { class: "check-list routes" },
      boxes.map((b) => b.element),
    ),
    error,
  );
  const disable = () => {
    for (const b of boxes) b.box.disabled = all.checked;
  };
  return fields.register({
    path: "offer.route_ids",
    label: "Routes",
    element,
    error,
    focusTarget: all,
    read(s) {
      const chosen = boxes.filter((b) => b.box.checked).map((b) => b.route);
      setPath(s, "offer.all_routes", all.checked ? true : undefined);
      setPath(s, "offer.route_ids", all.checked || !chosen.length ? undefined : chosen);
      disable();
    },
    write(s) {
      all.checked = getPath(s, "offer.all_routes") === true;
      const chosen = getPath(s, "offer.route_ids") || [];
      for (const b of boxes) b.box.checked = chosen.includes(b.route);
      disable();
    },
  });
}

// targeting --------------------------------------------------------------------------

export function geofences(fields, network) {
  const id = idFor(fields.prefix, "targeting.geofences");
  const ports = (network && network.ports) || [];
  const rows = ports.map((port) => {
    const box = h("input", { type: "checkbox", id: `${id}-${port.code}`, value: port.code });
    const radius = h("input", {
      type: "number",
      id: `${id}-${port.code}-radius`,
      step: "0.1",
      min: "0.1",
      max: "50",
      placeholder: String(port.geofence_km),
      inputmode: "decimal",
      "aria-label": `${port.name}: radius in km (empty: the port's own, ${port.geofence_km} km)`,
    });
    return {
      port,
      box,
      radius,
      element: h(
        "div",
        { class: "geofence-row" },
        h("label", { class: "check", for: box.id }, box, `${port.name} (${port.code})`),
        radius,
        h("span", { class: "unit", "aria-hidden": "true" }, "km"),
      ),
    };
  });
  const error = errorSlot(id);
  const element = h(
    "fieldset",
    {
      class: "field checks",
      id,
      dataset: { path: "targeting.geofences" },
      "aria-describedby": `${id}-hint ${error.id}`,
    },
    h("legend", {}, "Port geofences"),
    h(
      "p",
      { class: "hint", id: `${id}-hint` },
      "For the “enters a port's geofence” trigger. Radius in km; empty: the port's own geofence.",
    ),
    h(
      "div",
      { class: "geofence-list" },
      rows.map((r) => r.element),
    ),
    error,
  );
  return fields.register({
    path: "targeting.geofences",
    label: "Port geofences",
    element,
    error,
    focusTarget: rows[0] ? rows[0].box : element,
    read(s) {
      const others = (getPath(s, "targeting.geofences") || []).filter((g) => g.kind !== "port");
      const chosen = rows
        .filter((r) => r.box.checked)
        .map((r) => {
          const radius = numberOf(r.radius);
          return radius === undefined
            ? { kind: "port", port: r.port.code }
            : { kind: "port", port: r.port.code, radius_km: radius };
        });
      const all = [...chosen, ...others];
      setPath(s, "targeting.geofences", all.length ? all : undefined);
    },
    write(s) {
      const fences = (getPath(s, "targeting.geofences") || []).filter((g) => g.kind === "port");
      for (const r of rows) {
        const fence = fences.find((g) => g.port === r.port.code);
        r.box.checked = Boolean(fence);
        r.radius.value =
          fence && fence.radius_km !== undefined && fence.radius_km !== null ? String(fence.radius_km) : "";
      }
    },
  });
}

// messages ---------------------------------------------------------------------------

export function messages(fields) {
  const id = idFor(fields.prefix, "templates");
  const areas = LANGUAGES.map(([code, name]) => {
    const area = h("textarea", { id: `${id}-${code}`, rows: "2", lang: code });
    return {
      code,
      area,
      element: h("div", { class: "field" }, h("label", { for: area.id }, `Message in ${name}`), area),
    };
  });
  const note = h("p", { class: "hint", id: `${id}-hint` });
  const error = errorSlot(id);
  const element = h(
    "fieldset",
    { class: "field", id, dataset: { path: "templates" }, "aria-describedby": `${id}-hint ${error.id}` },
    h("legend", {}, "Messages"),
    note,
    areas.map((a) => a.element),
    error,
  );
  return fields.register({
    path: "templates",
    label: "Messages",
    element,
    error,
    affectsTemplates: true,
    focusTarget: areas[0].area,
    texts() {
      return Object.fromEntries(areas.filter((a) => a.area.value.trim()).map((a) => [a.code, a.area.value]));
    },
    read() {},
    write(s) {
      const uniform = uniformTemplates(s) || !(s.templates || []).length;
      const texts = textsOf(s);
      for (const a of areas) {
        a.area.value = texts[a.code] || "";
        a.area.disabled = !uniform;
      }
      note.textContent = uniform
        ? "Sent over every channel chosen. Fields: {name}, {port}, {sailing}, {fare}, {discount}, {expiry}. " +
          "A language left empty gets no message."
        : "The texts differ per channel: edit them in the JSON below.";
    },
  });
}
