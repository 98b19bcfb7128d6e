// A campaign's body (the fields a marketer controls) as plain data: its fields, the
// choices they offer, paths into it and message texts per language.

export const BODY_FIELDS = [
  "name",
  "description",
  "offer",
  "templates",
  "targeting",
  "schedule",
  "channels",
  "budget",
  "frequency_cap",
  "priority_eur",
  "holdout_share",
  "offer_expiry_hours",
  "guardrails",
];

export const TRIGGERS = [
  ["geofence_enter", "Enters a port's geofence"],
  ["abandoned_quote", "Leaves a quote unbooked"],
  ["search", "Searches a crossing"],
  ["positive_social_mention", "Mentions us positively"],
  ["fare_drop", "A searched fare drops"],
  ["capacity_released", "Seats are released"],
];

export const CHANNELS = [
  ["sms", "SMS"],
  ["messenger", "Messenger"],
  ["whatsapp", "WhatsApp"],
  ["push", "Push"],
];

export const LANGUAGES = [
  ["it", "Italian"],
  ["en", "English"],
  ["de", "German"],
  ["fr", "French"],
];

export const OFFER_KINDS = [
  ["percent_discount", "Percentage off the fare"],
  ["fixed_discount", "Amount off the fare"],
  ["upgrade", "Free upgrade"],
  ["onboard_voucher", "Voucher to spend on board"],
];

export const UPGRADES = [
  ["reserved_seat", "Reserved seat"],
  ["cabin", "Cabin"],
  ["premium_cabin", "Premium cabin"],
  ["priority_boarding", "Priority boarding"],
];

/** The value field each offer kind needs. */
export const VALUE_FIELD = {
  percent_discount: "percent",
  fixed_discount: "amount_eur",
  upgrade: "upgrade",
  onboard_voucher: "amount_eur",
};

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

export function getPath(object, path) {
  return path
    .split(".")
    .reduce((node, key) => (node === null || node === undefined ? undefined : node[key]), object);
}

export function setPath(object, path, value) {
  const keys = path.split(".");
  let node = object;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key];
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** The body's fields of a stored campaign (without id, status, version, timestamps). */
export function bodyOf(campaign) {
  const body = {};
  for (const name of BODY_FIELDS) if (campaign[name] !== undefined) body[name] = clone(campaign[name]);
  return body;
}

/** The text of each language, from the first template in that language. */
export function textsOf(body) {
  const texts = {};
  for (const template of body.templates || []) {
    if (template && !(template.language in texts)) texts[template.language] = template.text;
  }
  return texts;
}

/** Whether every template of a language has the same text, whatever its channel, and
 * every channel has the same languages: then one text per language stands for them. */
export function uniformTemplates(body) {
  const texts = textsOf(body);
  const templates = body.templates || [];
  if (!templates.every((t) => t && texts[t.language] === t.text)) return false;
  const expected = buildTemplates(body.channels || [], texts);
  return expected.length === templates.length;
}

/** One template per channel and language that has a text. */
export function buildTemplates(channels, texts) {
  const templates = [];
  for (const [channel] of CHANNELS) {
    if (!channels.includes(channel)) continue;
    for (const [language] of LANGUAGES) {
      const text = texts[language];
      if (text) templates.push({ channel, language, text });
    }
  }
  return templates;
}
