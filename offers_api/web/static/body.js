// A campaign's body (the fields a marketer controls) as plain data: paths into it,
// message texts per language, and the presets a new campaign starts from.

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

function allTexts(texts) {
  return Object.fromEntries(LANGUAGES.map(([code]) => [code, texts[code]]));
}

const QUOTE_TEXTS = allTexts({
  it: "{name}, il tuo preventivo per {sailing} ti aspetta: {discount} di sconto se prenoti entro {expiry}.",
  en: "{name}, your quote for {sailing} is waiting: {discount} off if you book by {expiry}.",
  de: "{name}, Ihr Angebot für {sailing} wartet: {discount} Rabatt bei Buchung bis {expiry}.",
  fr: "{name}, votre devis pour {sailing} vous attend : {discount} de remise si vous réservez avant le {expiry}.",
});

const WELCOME_TEXTS = allTexts({
  it: "Benvenuto a {port}, {name}! {discount} di sconto su {sailing}, fino a {expiry}.",
  en: "Welcome to {port}, {name}! {discount} off {sailing}, until {expiry}.",
  de: "Willkommen in {port}, {name}! {discount} Rabatt auf {sailing}, bis {expiry}.",
  fr: "Bienvenue à {port}, {name} ! {discount} de réduction sur {sailing}, jusqu'au {expiry}.",
});

const FARE_DROP_TEXTS = allTexts({
  it: "Buone notizie {name}: {sailing} ora da {fare}, più {discount} da spendere a bordo. Fino a {expiry}.",
  en: "Good news {name}: {sailing} now from {fare}, plus {discount} to spend on board. Until {expiry}.",
  de: "Gute Nachricht, {name}: {sailing} jetzt ab {fare}, dazu {discount} Bordguthaben. Bis {expiry}.",
  fr: "Bonne nouvelle {name} : {sailing} dès {fare}, avec {discount} à dépenser à bord. Jusqu'au {expiry}.",
});

function period(days) {
  const start = new Date();
  start.setUTCSeconds(0, 0);
  start.setUTCMinutes(0);
  const end = new Date(start.getTime() + days * 86400000);
  return { start: start.toISOString(), end: end.toISOString() };
}

/** The presets a new campaign starts from: name, what it is for, and its body. */
export function presets(network) {
  const welcomePorts = ["LIV", "PIO", "OLB"];
  const routes = ((network && network.routes) || [])
    .map((r) => r.route_id)
    .filter((id) => welcomePorts.includes(id.split("-")[0]))
    .sort();
  return [
    {
      id: "quote_comeback",
      label: "Come back to your quote (searches and abandoned quotes)",
      body: {
        name: "Come back to your quote",
        description: "15 EUR off any route for customers who searched or left a quote",
        offer: { kind: "fixed_discount", amount_eur: 15, all_routes: true, cost_eur: 15 },
        templates: buildTemplates(["sms", "whatsapp"], QUOTE_TEXTS),
        targeting: { triggers: ["abandoned_quote", "search"] },
        schedule: period(30),
        channels: ["sms", "whatsapp"],
        budget: { max_sends: 20000, max_redemptions: 2000 },
        frequency_cap: { per_day: 1, per_week: 3 },
        priority_eur: 18,
        holdout_share: 0.1,
        offer_expiry_hours: 48,
      },
    },
    {
      id: "port_welcome",
      label: "Port welcome (arrivals in a port's geofence)",
      body: {
        name: "Port welcome",
        description: "10 % off the next crossing for customers arriving at Livorno, Piombino or Olbia",
        offer: routes.length
          ? { kind: "percent_discount", percent: 10, route_ids: routes, cost_eur: 6 }
          : { kind: "percent_discount", percent: 10, all_routes: true, cost_eur: 6 },
        templates: buildTemplates(["sms", "whatsapp"], WELCOME_TEXTS),
        targeting: {
          triggers: ["geofence_enter"],
          geofences: welcomePorts.map((port) => ({ kind: "port", port })),
          max_position_age_s: 900,
        },
        schedule: { ...period(30), hours: { start_hour: 7, end_hour: 22 } },
        channels: ["sms", "whatsapp"],
        budget: { max_sends: 20000, max_discount_spend_eur: 60000 },
        frequency_cap: { per_day: 1, per_week: 2 },
        priority_eur: 14,
        holdout_share: 0.1,
        offer_expiry_hours: 12,
      },
    },
    {
      id: "fare_drop_alert",
      label: "Fare drop alert (cheaper fares, released seats)",
      body: {
        name: "Fare drop alert",
        description: "A 10 EUR onboard voucher when a searched route gets cheaper or seats are released",
        offer: { kind: "onboard_voucher", amount_eur: 10, all_routes: true, cost_eur: 4 },
        templates: buildTemplates(["sms", "whatsapp"], FARE_DROP_TEXTS),
        targeting: { triggers: ["fare_drop", "capacity_released"] },
        schedule: { ...period(30), hours: { start_hour: 8, end_hour: 21 } },
        channels: ["sms", "whatsapp"],
        budget: { max_sends: 10000, max_discount_spend_eur: 20000 },
        frequency_cap: { per_day: 1, per_week: 2 },
        priority_eur: 10,
        holdout_share: 0.1,
        offer_expiry_hours: 24,
      },
    },
  ];
}
