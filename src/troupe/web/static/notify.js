// Error banners and notices, stacked at the top of the page. The same error twice in a row
// (a poll that keeps failing) refreshes one banner instead of piling up.

import { el } from "./dom.js";

const ERROR_SECONDS = 20;
const NOTICE_SECONDS = 8;

function host() {
  return document.getElementById("toasts");
}

function show(kind, key, children, lifetimeSeconds) {
  [...host().children].find((node) => node.dataset.key === key)?.remove();
  const close = el(
    "button",
    { type: "button", class: "toast-close", "aria-label": "Dismiss" },
    "×",
  );
  const toast = el(
    "div",
    {
      class: `toast ${kind}`,
      role: kind === "error" ? "alert" : "status",
      testid: kind === "error" ? "error-banner" : "notice",
      dataset: { key },
    },
    el("div", { class: "toast-body" }, children),
    close,
  );
  const timer = setTimeout(() => toast.remove(), lifetimeSeconds * 1000);
  close.addEventListener("click", () => {
    clearTimeout(timer);
    toast.remove();
  });
  host().prepend(toast);
}

/** An API error as a banner: its code, then its message (and the parameter it names). */
export function showError(error) {
  const code = error.code || "error";
  const message = error.message || "the request failed";
  const param = error.param ? ` (${error.param})` : "";
  show(
    "error",
    `${code}:${message}`,
    [
      el("strong", { class: "toast-code", testid: "error-code", text: code }),
      " ",
      el("span", { testid: "error-message", text: message + param }),
    ],
    ERROR_SECONDS,
  );
  if (code === "invalid_api_key") document.getElementById("key-form")?.classList.add("needs-key");
}

export function showNotice(...children) {
  show("notice", `notice:${Date.now()}:${Math.random()}`, children, NOTICE_SECONDS);
}

export function clearErrors() {
  for (const node of [...host().querySelectorAll(".toast.error")]) node.remove();
  document.getElementById("key-form")?.classList.remove("needs-key");
}
