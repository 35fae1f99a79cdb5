// The operator's panel: character tasks the human screening was uncertain about, waiting for
// a decision (GET /v1/reviews). The frames that raised the doubt are fetched with the key (they
// are never public); Approve or Reject decides, with an optional reason. To a key that is not an
// operator's the API answers 404, and the panel stays hidden.

import { api, blobUrl } from "./api.js";
import { el, emit, fill, when } from "./dom.js";
import { showNotice } from "./notify.js";

const RELOAD_MS = 10000;

function evidenceStrip(review) {
  return el(
    "div",
    { class: "review-evidence" },
    review.evidence.map((url, index) => {
      const image = el("img", {
        alt: `Frame ${index + 1} that raised the doubt`,
        class: "review-frame",
        testid: "review-frame",
      });
      blobUrl(url, { quiet: true })
        .then((objectUrl) => {
          image.src = objectUrl;
          image.dataset.loaded = "true";
        })
        .catch(() => image.replaceWith(el("span", { class: "muted", text: "frame unavailable" })));
      return image;
    }),
  );
}

function asked(review) {
  const parts = [];
  if (review.username) parts.push(`@${review.username}`);
  if (review.name) parts.push(review.name);
  return parts.join(" · ") || "a new character";
}

function sourceOf(review) {
  const { source } = review;
  return source.url || source.filename || source.task_id || source.type;
}

function reviewItem(review, decided) {
  const why = el("input", {
    type: "text",
    class: "review-why",
    testid: "review-why",
    placeholder: "why (optional, shown to its owner)",
    maxlength: "2000",
  });
  const buttons = [];
  const decide = (verdict) => async () => {
    buttons.forEach((button) => (button.disabled = true));
    const reason = why.value.trim();
    try {
      await api(`/v1/reviews/${encodeURIComponent(review.id)}/${verdict}`, {
        method: "POST",
        json: reason ? { why: reason } : {},
      });
      showNotice(`Review of ${asked(review)}: ${verdict === "approve" ? "approved" : "rejected"}.`);
      decided();
    } catch {
      buttons.forEach((button) => (button.disabled = false)); // the banner says why
    }
  };
  buttons.push(
    el(
      "button",
      { type: "button", class: "primary", testid: "review-approve", onclick: decide("approve") },
      "Approve",
    ),
    el(
      "button",
      { type: "button", testid: "review-reject", onclick: decide("reject") },
      "Reject",
    ),
  );
  return el(
    "li",
    { class: "review", testid: "review", dataset: { taskId: review.id } },
    el(
      "div",
      { class: "job-head" },
      el("strong", { text: asked(review) }),
      el("span", { class: "muted", text: `owner ${review.owner}` }),
      el("time", { class: "when", text: `expires ${when(review.expires_at)}` }),
    ),
    el("p", { class: "review-reason", testid: "review-reason", text: review.reason }),
    el("p", { class: "hint", text: `window ${review.timestamps} s of ${sourceOf(review)}` }),
    evidenceStrip(review),
    el("div", { class: "review-actions" }, why, buttons),
  );
}

/**
 * The panel: shown to an operator's key once something waits (then kept, saying when nothing
 * is left), read again every few seconds while the page is in view and after each decision.
 */
export function reviewPanel(signal) {
  const list = el("ol", { class: "reviews", testid: "reviews" });
  const empty = el("p", {
    class: "empty",
    testid: "reviews-empty",
    text: "Nothing waits for a review.",
  });
  const panel = el(
    "section",
    { class: "panel", testid: "review-panel", hidden: true },
    el("h2", { text: "Reviews" }),
    el("p", {
      class: "hint",
      text: "The screening could not tell whether these are real people. Approve what is a "
        + "drawn, animated or otherwise original character; reject a real person.",
    }),
    list,
    empty,
  );
  const shown = new Set(); // task ids on screen: an unchanged list is not drawn again

  async function load() {
    let page;
    try {
      ({ body: page } = await api("/v1/reviews?status=waiting&limit=50", { quiet: true }));
    } catch {
      panel.hidden = true; // not an operator's key (404), or no key yet
      return;
    }
    if (signal.aborted) return;
    if (page.data.length === 0 && panel.hidden) return; // nothing to show an operator yet
    panel.hidden = false;
    empty.hidden = page.data.length > 0;
    const ids = page.data.map((review) => review.id);
    if (ids.length === shown.size && ids.every((id) => shown.has(id))) return;
    shown.clear();
    ids.forEach((id) => shown.add(id));
    const decided = () => {
      emit("characters-changed");
      load();
    };
    fill(list, page.data.map((review) => reviewItem(review, decided)));
  }

  const timer = setInterval(() => {
    if (document.visibilityState === "visible") load();
  }, RELOAD_MS);
  signal.addEventListener("abort", () => clearInterval(timer));
  load();
  return panel;
}
