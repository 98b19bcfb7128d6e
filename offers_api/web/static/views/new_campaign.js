// A new campaign: a form started from a preset (GET /v1/campaign-presets), sent as a draft.

import { api } from "../api.js";
import { announce, h, replace } from "../dom.js";
import { loadNetwork } from "../network.js";
import { campaignForm } from "./campaign_form.js";
import { notice } from "./parts.js";

export function renderNewCampaign(main, { navigate }) {
  document.title = "New campaign · Moby offers";
  let alive = true;
  const holder = h("div", {}, notice("Loading the network's ports and routes…"));
  replace(
    main,
    h("h1", {}, "New campaign"),
    h(
      "p",
      { class: "lead" },
      "Start from a template, change what you need and save it as a draft. ",
      "A draft sends nothing: activate it from its page.",
    ),
    holder,
  );

  (async () => {
    let network = null;
    let problem = null;
    try {
      network = await loadNetwork();
    } catch (error) {
      if (error.name === "AuthError") return;
      problem = `The ports and routes could not be loaded (${error.message}); give them in the JSON.`;
    }
    let choices;
    try {
      choices = await api.get("/v1/campaign-presets");
    } catch (error) {
      if (error.name === "AuthError" || !alive) return;
      const why = `The templates could not be loaded (${error.message}): reload the page.`;
      replace(holder, notice(why, "warning"));
      return;
    }
    if (!alive) return;
    const picker = h(
      "select",
      { id: "preset" },
      choices.map((p) => h("option", { value: p.id }, p.label)),
    );
    const form = campaignForm({
      body: choices[0].body,
      network,
      submitLabel: "Create draft",
      prefix: "new",
      headingLevel: 2,
      onSubmit: async (body) => {
        const created = await api.post("/v1/campaigns", body);
        announce(`Draft “${created.name}” created.`);
        navigate(`#/campaigns/${encodeURIComponent(created.id)}`);
      },
    });
    const use = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => {
          const chosen = choices.find((p) => p.id === picker.value) || choices[0];
          form.setBody(chosen.body);
          announce(`The form now holds the template “${chosen.body.name}”.`);
        },
      },
      "Use this template",
    );
    replace(
      holder,
      problem ? notice(problem, "warning") : null,
      h("div", { class: "toolbar preset" }, h("label", { for: "preset" }, "Template"), picker, use),
      form.element,
    );
  })();

  return () => {
    alive = false;
  };
}
