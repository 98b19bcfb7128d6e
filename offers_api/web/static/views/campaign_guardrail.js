// A campaign's guardrail: whether it pauses on social alerts, and where it is paused now.

import { placesOf } from "../alerts.js";
import { h } from "../dom.js";
import { moment } from "../format.js";
import { placeName } from "./social_alerts.js";

/** The open alerts (of ``open``) on the routes and ports of ``campaign`` that pause it
 * there: none unless it opts in and has not ended. */
export function pausingAlerts(campaign, network, open) {
  const on = Boolean(campaign.guardrails && campaign.guardrails.pause_on_social_alerts);
  if (!on || campaign.status === "ended") return [];
  const places = placesOf(campaign, network);
  return (open || []).filter((alert) => places.has(alert.subject));
}

export function guardrailView(campaign, network, open) {
  const on = Boolean(campaign.guardrails && campaign.guardrails.pause_on_social_alerts);
  const pausing = pausingAlerts(campaign, network, open);
  return [
    h(
      "p",
      {},
      "Guardrail: ",
      h(
        "strong",
        { dataset: { metric: "guardrail" } },
        on ? "pauses on social alerts" : "does not pause on social alerts",
      ),
      on
        ? ". It sends nothing on a route or port while social listening has an open alert there; elsewhere it goes on."
        : ". It keeps sending where social listening has an open alert.",
    ),
    pausing.length
      ? h(
          "div",
          { class: "notice paused-here", id: "paused-here" },
          h("p", {}, h("strong", {}, "Paused there while the alert is open:")),
          h(
            "ul",
            {},
            pausing.map((alert) =>
              h(
                "li",
                { dataset: { subject: alert.subject } },
                `Paused on ${placeName(alert.subject, network)} while its social alert is open `,
                `(since ${moment(alert.opened_at)}).`,
              ),
            ),
          ),
        )
      : null,
  ];
}
