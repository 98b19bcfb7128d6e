// The marketers' page: sign-in, then campaigns, one campaign, a new campaign, the map
// and the models, one view at a time, chosen by the URL's hash (#/campaigns...).

import { SocialAlerts } from "./alerts.js";
import { clearToken, onAuthFailure, token, tokenClaims } from "./api.js";
import { h, replace } from "./dom.js";
import { LiveActivity } from "./live.js";
import { renderCampaign } from "./views/campaign.js";
import { renderCampaigns } from "./views/campaigns.js";
import { renderMap } from "./views/map.js";
import { renderModels } from "./views/models.js";
import { renderNewCampaign } from "./views/new_campaign.js";
import { renderSignIn } from "./views/signin.js";
import { alertBoard } from "./views/social_alerts.js";

const live = new LiveActivity();
const alerts = new SocialAlerts();
const main = document.getElementById("main");
let leave = null; // the current view's clean-up
let wanted = null; // where to go after signing in
let signInMessage = "";
let firstView = true;

const ROUTES = [
  { pattern: /^#\/campaigns\/?$/, nav: "campaigns", render: renderCampaigns },
  { pattern: /^#\/campaigns\/([A-Za-z0-9_.:-]+)$/, nav: "campaigns", render: renderCampaign },
  { pattern: /^#\/new$/, nav: "new", render: renderNewCampaign },
  { pattern: /^#\/map$/, nav: "map", render: renderMap },
  { pattern: /^#\/models$/, nav: "models", render: renderModels },
];

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Offline",
};

function homeFor(claims) {
  return claims && claims.role === "data_scientist" ? "#/models" : "#/campaigns";
}

function showAccount(signedIn) {
  const nav = document.getElementById("nav");
  const account = document.getElementById("account");
  nav.hidden = !signedIn;
  account.hidden = !signedIn;
  document.getElementById("alerts").hidden = !signedIn;
  const who = document.getElementById("who");
  const claims = signedIn ? tokenClaims() : null;
  navFor(claims);
  const role = String((claims && claims.role) || "").replace("_", " ");
  who.textContent = claims && claims.sub ? `${claims.sub} (${role})` : "";
}

/** Data scientists see the models and the map; campaigns are the marketers'. */
function navFor(claims) {
  const scientist = claims && claims.role === "data_scientist";
  for (const link of document.querySelectorAll("#nav a")) {
    const forMarketers = link.dataset.nav === "campaigns" || link.dataset.nav === "new";
    link.parentElement.hidden = Boolean(scientist && forMarketers);
  }
  document.querySelector(".brand").setAttribute("href", homeFor(claims));
}

function markNav(name) {
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function focusHeading() {
  if (firstView) {
    firstView = false;
    return;
  }
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

function unmount() {
  if (leave) leave();
  leave = null;
}

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function signIn() {
  unmount();
  showAccount(false);
  markNav(null);
  document.title = "Sign in · Moby offers";
  leave = renderSignIn(main, {
    message: signInMessage,
    done: () => {
      signInMessage = "";
      showAccount(true);
      live.start();
      alerts.start();
      const target = wanted || homeFor(tokenClaims());
      wanted = null;
      navigate(target);
    },
  });
  focusHeading();
}

function route() {
  const hash = window.location.hash || "";
  if (!token()) {
    if (hash.startsWith("#/") && hash !== "#/signin") wanted = hash;
    signIn();
    return;
  }
  if (hash === "" || hash === "#/" || hash === "#/signin") {
    window.location.replace(homeFor(tokenClaims()));
    return;
  }
  if (!hash.startsWith("#/")) return; // an in-page anchor, not a view
  const found = ROUTES.map((r) => ({ r, m: hash.match(r.pattern) })).find((x) => x.m);
  unmount();
  showAccount(true);
  live.start();
  alerts.start();
  if (!found) {
    markNav(null);
    document.title = "Not found · Moby offers";
    replace(
      main,
      h("h1", {}, "Nothing here"),
      h("p", {}, "This address shows no view."),
      h("p", {}, h("a", { href: homeFor(tokenClaims()) }, "Go to the start page")),
    );
    focusHeading();
    return;
  }
  markNav(found.r.nav);
  const params = found.m.slice(1).map(decodeURIComponent);
  leave = found.r.render(main, { live, alerts, params, navigate }) || null;
  focusHeading();
}

function signOut(message = "") {
  clearToken();
  live.stop();
  alerts.stop();
  signInMessage = message;
  unmount();
  if (window.location.hash !== "#/signin") {
    const hash = window.location.hash;
    if (message && hash.startsWith("#/") && hash !== "#/signin") wanted = hash;
    window.location.hash = "#/signin";
  } else {
    route();
  }
}

function liveIndicator() {
  const indicator = document.getElementById("live");
  const show = (state) => {
    indicator.dataset.state = state;
    indicator.textContent = STATE_TEXT[state] || state;
  };
  live.addEventListener("state", (event) => show(event.detail));
  show(live.state);
}

function skipLink() {
  const skip = document.getElementById("skip");
  skip.addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
}

function start() {
  skipLink();
  liveIndicator();
  alertBoard(document.getElementById("alerts"), alerts);
  document.getElementById("sign-out").addEventListener("click", () => signOut(""));
  onAuthFailure((message) => signOut(message || "Please sign in again."));
  window.addEventListener("hashchange", route);
  route();
}

start();
