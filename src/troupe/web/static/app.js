// The page's entry point: the API key form, the router (`/` and `/characters/{username}`,
// read from location.pathname), and the jobs list beside every view.

import { apiKey, saveApiKey } from "./api.js";
import { bus, el, fill } from "./dom.js";
import { characterPage } from "./character.js";
import { createPanel } from "./create.js";
import { gallery } from "./gallery.js";
import { initJobs, reloadJobs } from "./jobs.js";
import { clearErrors } from "./notify.js";
import { initPlayer } from "./player.js";
import { promptBox } from "./prompt.js";
import { reviewPanel } from "./reviews.js";

const CHARACTER_PATH = /^\/characters\/([^/]+)\/?$/;
let leaving = null; // aborts the current view's listeners when another one is drawn

function homePage(view, signal) {
  fill(
    view,
    reviewPanel(signal),
    el(
      "section",
      { class: "panel" },
      el("h2", { text: "Make a video" }),
      promptBox(),
    ),
    gallery(bus, signal),
    createPanel(),
  );
}

function route() {
  leaving?.abort();
  leaving = new AbortController();
  const view = document.getElementById("view");
  const match = CHARACTER_PATH.exec(location.pathname);
  if (match) {
    const username = decodeURIComponent(match[1]).replace(/^@/, "");
    document.title = `@${username} · troupe`;
    characterPage(view, username, bus, leaving.signal);
  } else {
    document.title = "troupe";
    homePage(view, leaving.signal);
  }
  window.scrollTo(0, 0);
}

function navigate(path) {
  if (path !== location.pathname) history.pushState(null, "", path);
  route();
}

function showKeyState() {
  document.getElementById("key-state").textContent = apiKey() ? "key saved" : "no key";
}

function initKeyForm() {
  const form = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  input.value = apiKey();
  showKeyState();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveApiKey(input.value.trim());
    showKeyState();
    clearErrors();
    route();
    reloadJobs();
  });
}

// Links marked data-route are followed in the page; a modified click still opens a new tab.
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[data-route]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(new URL(link.href).pathname);
});
window.addEventListener("popstate", route);

initKeyForm();
initPlayer();
initJobs();
route();
// A keyless visitor at a permalink came to see a (public) character, not to be asked for a
// key: its page offers the key field itself when it needs one.
reloadJobs({ quiet: !apiKey() && CHARACTER_PATH.test(location.pathname) });
