// Numbers, money, shares and moments as the page shows them.

const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const fixed = [0, 1, 2, 3].map(
  (digits) =>
    new Intl.NumberFormat("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits }),
);
const euros = new Intl.NumberFormat("en-GB", {
  style: "currency",
  currency: "EUR",
  maximumFractionDigits: 0,
});

export function count(value) {
  return value === null || value === undefined ? "–" : integer.format(value);
}

/** A number with ``digits`` decimals (0 to 3) and thousands separated: "1,234.50". */
export function number(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return fixed[digits].format(value);
}

export function eur(value) {
  return value === null || value === undefined ? "–" : euros.format(value);
}

export function percent(share, digits = 1) {
  if (share === null || share === undefined || Number.isNaN(share)) return "–";
  return `${(share * 100).toFixed(digits)} %`;
}

/** "2026-07-01 14:05 UTC" from an ISO 8601 moment. */
export function moment(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "2026-07-01" from an ISO 8601 moment. */
export function day(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().slice(0, 10);
}

/** A value with its interval: "97.2 [51.1, 125.5]". */
export function estimate(value, format = (x) => number(x, 2)) {
  if (!value) return "not enough data";
  return `${format(value.value)} [${format(value.low)}, ${format(value.high)}]`;
}

/** Words from a snake_case name: "capped_campaign_day" -> "capped campaign day". */
export function words(name) {
  return String(name).replaceAll("_", " ");
}

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** "7 days" from "P7D", "1 day 12 hours" from "P1DT12H"; the text itself if unreadable. */
export function duration(iso) {
  const found = DURATION.exec(String(iso || ""));
  if (!found || String(iso) === "P" || String(iso).endsWith("T")) return iso ? String(iso) : "–";
  const names = ["day", "hour", "minute", "second"];
  const parts = found
    .slice(1)
    .map((value, i) => [Number(value || 0), names[i]])
    .filter(([value]) => value)
    .map(([value, name]) => `${value} ${name}${value === 1 ? "" : "s"}`);
  return parts.length ? parts.join(" ") : "0 seconds";
}
