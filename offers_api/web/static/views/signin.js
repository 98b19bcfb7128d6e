// Sign in with an access token; it is kept for this tab only (sessionStorage).

import { ApiError, api, clearToken, setToken, tokenClaims } from "../api.js";
import { h, replace } from "../dom.js";

/** The first call the token's role may make: it proves the token is accepted. */
function probePaths(claims) {
  if (claims && claims.role === "data_scientist") return ["/v1/models"];
  return ["/v1/campaigns", "/v1/models"];
}

async function check(value) {
  const claims = tokenClaims(value);
  let refusal = null;
  for (const path of probePaths(claims)) {
    try {
      await api.get(path, { token: value, keepSignedIn: true });
      return null;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status !== 401 && error.status !== 403) return null; // accepted, other trouble
      refusal = refusal || error.message;
      if (error.status === 401) break;
    }
  }
  return refusal;
}

export function renderSignIn(main, { message, done }) {
  const error = h("p", { class: "form-error", id: "signin-error", role: "alert" }, message || "");
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-hint signin-error",
  });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", novalidate: true },
    h("label", { for: "token" }, "Access token"),
    h(
      "p",
      { class: "hint", id: "token-hint" },
      "Paste the token your administrator issued (python -m offers_api.credentials issue). ",
      "It stays in this tab until you sign out or close it.",
    ),
    input,
    error,
    h("div", { class: "actions" }, button),
  );
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const value = input.value.trim();
    if (!value) {
      error.textContent = "Enter an access token.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    error.textContent = "";
    try {
      const refusal = await check(value);
      if (refusal) {
        clearToken();
        error.textContent = refusal;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      setToken(value);
      done();
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
  replace(
    main,
    h(
      "section",
      { class: "card narrow", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, "Sign in"),
      h(
        "p",
        {},
        "Campaigns, their live results, the network map and the scoring models of the offer engine.",
      ),
      form,
    ),
  );
  return () => {};
}
