// The fields of a form, each bound to a path of the body it edits (read from its
// controls, written to them) and with a place for the API's refusals of that path.

import { getPath, setPath } from "../body.js";
import { h } from "../dom.js";

export function idFor(prefix, path) {
  return `${prefix}-${path.replaceAll(".", "-").replaceAll("_", "-")}`;
}

export function isoToInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 16);
}

export function numberOf(input) {
  const text = input.value.trim();
  if (text === "") return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? text : value;
}

export function errorSlot(id) {
  return h("p", { class: "field-error", id: `${id}-error`, hidden: true });
}

/** A form's fields: ``bindings`` read and write the body, ``slots`` take its errors. */
export class Fields {
  constructor(prefix) {
    this.prefix = prefix;
    this.bindings = [];
    this.slots = [];
  }

  register(binding) {
    this.bindings.push(binding);
    this.slots.push(binding);
    return binding;
  }

  slot(path, label, element, focusTarget) {
    const id = idFor(this.prefix, path);
    const error = errorSlot(id);
    element.append(error);
    const entry = { path, label, element, error, focusTarget: focusTarget || element };
    this.slots.push(entry);
    return entry;
  }

  field(path, label, control, hint) {
    const id = idFor(this.prefix, path);
    control.id = id;
    const hintId = hint ? `${id}-hint` : null;
    const error = errorSlot(id);
    control.setAttribute("aria-describedby", [hintId, error.id].filter(Boolean).join(" "));
    const element = h(
      "div",
      { class: "field", dataset: { path } },
      h("label", { for: id }, label),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      control,
      error,
    );
    return { path, label, element, control, error, focusTarget: control };
  }

  text(path, label, { hint, multiline = false, required = false } = {}) {
    const control = multiline
      ? h("textarea", { rows: "3" })
      : h("input", { type: "text", autocomplete: "off" });
    if (required) control.setAttribute("aria-required", "true");
    const binding = this.field(path, label, control, hint);
    binding.read = (s) => setPath(s, path, control.value);
    binding.write = (s) => {
      control.value = getPath(s, path) ?? "";
    };
    return this.register(binding);
  }

  numeric(path, label, { hint, step = "1", min, max } = {}) {
    const control = h("input", {
      type: "number",
      step,
      min,
      max,
      inputmode: step === "1" ? "numeric" : "decimal",
    });
    const binding = this.field(path, label, control, hint);
    binding.read = (s) => setPath(s, path, numberOf(control));
    binding.write = (s) => {
      const value = getPath(s, path);
      control.value = value === undefined || value === null ? "" : String(value);
    };
    return this.register(binding);
  }

  moment(path, label, hint) {
    const control = h("input", { type: "datetime-local", step: "60" });
    const binding = this.field(path, label, control, hint);
    binding.read = (s) => {
      if (isoToInput(getPath(s, path)) === control.value) return; // same minute: keep it
      setPath(s, path, control.value ? `${control.value}:00Z` : undefined);
    };
    binding.write = (s) => {
      control.value = isoToInput(getPath(s, path));
    };
    return this.register(binding);
  }

  choice(path, label, options, hint) {
    const control = h(
      "select",
      {},
      options.map(([value, text]) => h("option", { value }, text)),
    );
    const binding = this.field(path, label, control, hint);
    binding.read = (s) => setPath(s, path, control.value);
    binding.write = (s) => {
      control.value = getPath(s, path) ?? options[0][0];
    };
    return this.register(binding);
  }

  /** One checkbox for a true/false value, its label beside it. */
  flag(path, label, hint) {
    const id = idFor(this.prefix, path);
    const control = h("input", { type: "checkbox", id });
    const hintId = hint ? `${id}-hint` : null;
    const error = errorSlot(id);
    control.setAttribute("aria-describedby", [hintId, error.id].filter(Boolean).join(" "));
    const element = h(
      "div",
      { class: "field", dataset: { path } },
      h("label", { class: "check", for: id }, control, label),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      error,
    );
    return this.register({
      path,
      label,
      element,
      control,
      error,
      focusTarget: control,
      read(s) {
        setPath(s, path, control.checked);
      },
      write(s) {
        control.checked = getPath(s, path) === true;
      },
    });
  }

  /** Checkboxes for a set of values; an empty set is left out when ``omitEmpty``. */
  checks(path, legend, options, { hint, omitEmpty = false, affectsTemplates = false } = {}) {
    const id = idFor(this.prefix, path);
    const boxes = options.map(([value, text]) => {
      const box = h("input", { type: "checkbox", id: `${id}-${value}`, value });
      return { value, box, element: h("label", { class: "check", for: box.id }, box, text) };
    });
    const error = errorSlot(id);
    const hintId = hint ? `${id}-hint` : null;
    const element = h(
      "fieldset",
      {
        class: "field checks",
        id,
        dataset: { path },
        "aria-describedby": [hintId, error.id].filter(Boolean).join(" "),
      },
      h("legend", {}, legend),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      h(
        "div",
        { class: "check-list" },
        boxes.map((b) => b.element),
      ),
      error,
    );
    return this.register({
      path,
      label: legend,
      element,
      error,
      affectsTemplates,
      focusTarget: boxes[0] ? boxes[0].box : element,
      boxes,
      read(s) {
        const chosen = boxes.filter((b) => b.box.checked).map((b) => b.value);
        setPath(s, path, chosen.length || !omitEmpty ? chosen : undefined);
      },
      write(s) {
        const values = getPath(s, path) || [];
        for (const b of boxes) b.box.checked = values.includes(b.value);
      },
    });
  }
}
