// The prompt box: a textarea whose `@` + letters suggests usernames (GET /v1/characters?q=),
// the render controls, and POST /v1/videos. Mentions are resolved by the server.

import { api } from "./api.js";
import { debounce, el, field } from "./dom.js";
import { showNotice } from "./notify.js";
import { trackVideo } from "./jobs.js";

const SECONDS = ["4", "8", "10", "12", "15", "16", "20"];
const SIZES = ["1280x720", "720x1280", "1792x1024", "1024x1792", "1920x1080", "1080x1920"];
const MODELS = ["sora-2", "sora-2-pro"];
const SUGGESTIONS = 8;
// A mention starts at an `@` that follows no word character, dot or `@` (as the server reads it).
const MENTION_BEFORE_CARET = /(^|[^\w.@])@([A-Za-z0-9_.]*)$/;

let boxes = 0;

function select(options, chosen, props) {
  return el(
    "select",
    props,
    options.map((value) => el("option", { value, selected: value === chosen, text: value })),
  );
}

/** The `@prefix` being typed at the caret, or null. */
function mentionAtCaret(textarea) {
  if (textarea.selectionStart !== textarea.selectionEnd) return null;
  const before = textarea.value.slice(0, textarea.selectionStart);
  const match = MENTION_BEFORE_CARET.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, end: before.length, prefix: match[2] };
}

/** A prompt form; `initial` prefills the textarea (a character page passes `@username `). */
export function promptBox({ initial = "" } = {}) {
  const n = (boxes += 1);
  const textarea = el("textarea", {
    id: `prompt-${n}`,
    rows: "3",
    maxlength: "4000",
    placeholder: "@acme_mascot skateboarding through a night market, the camera pans left",
    testid: "prompt-input",
    autocomplete: "off",
    spellcheck: "false",
    "aria-autocomplete": "list",
    "aria-controls": `mentions-${n}`,
    value: initial,
  });
  const menu = el("ul", {
    id: `mentions-${n}`,
    class: "mentions",
    role: "listbox",
    testid: "mention-list",
    hidden: true,
  });
  const seconds = select(SECONDS, "4", { id: `seconds-${n}`, testid: "prompt-seconds" });
  const size = select(SIZES, "1280x720", { id: `size-${n}`, testid: "prompt-size" });
  const model = el("input", {
    id: `model-${n}`,
    list: `models-${n}`,
    value: MODELS[0],
    testid: "prompt-model",
    size: "10",
  });
  const models = el(
    "datalist",
    { id: `models-${n}` },
    MODELS.map((value) => el("option", { value })),
  );
  const submit = el(
    "button",
    { type: "submit", class: "primary", testid: "prompt-submit" },
    "Render video",
  );

  const state = { items: [], active: 0, mention: null, asked: 0 };

  function close() {
    menu.hidden = true;
    state.items = [];
    state.mention = null;
  }

  function highlight(index) {
    state.active = (index + state.items.length) % state.items.length;
    [...menu.children].forEach((item, i) => {
      item.classList.toggle("active", i === state.active);
      item.setAttribute("aria-selected", String(i === state.active));
    });
  }

  function choose(index) {
    const character = state.items[index];
    const { mention } = state;
    if (!character || !mention) return;
    const text = textarea.value;
    const inserted = `@${character.username} `;
    const rest = text.slice(mention.end).replace(/^ /, "");
    textarea.value = text.slice(0, mention.start) + inserted + rest;
    const caret = mention.start + inserted.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.focus();
  }

  function show(items, mention) {
    state.items = items;
    state.mention = mention;
    menu.replaceChildren(
      ...items.map((character, i) =>
        el(
          "li",
          {
            role: "option",
            testid: "mention-option",
            dataset: { username: character.username },
            onmousedown: (event) => {
              event.preventDefault(); // keep the focus (and caret) in the textarea
              choose(i);
            },
          },
          el("img", { src: character.profile_picture_url, alt: "", class: "avatar tiny" }),
          el("span", { class: "handle", text: `@${character.username}` }),
          el("span", { class: "muted", text: character.display_name }),
        ),
      ),
    );
    menu.hidden = items.length === 0;
    if (items.length) highlight(0);
  }

  const lookUp = debounce(async (mention) => {
    const asked = (state.asked += 1);
    const query = new URLSearchParams({ limit: String(SUGGESTIONS) });
    if (mention.prefix) query.set("q", mention.prefix);
    try {
      const { body } = await api(`/v1/characters?${query}`);
      const current = mentionAtCaret(textarea);
      // Only the latest answer counts, and only while that mention is still being typed.
      if (asked === state.asked && current && current.start === mention.start) {
        show(body.data, current);
      }
    } catch {
      close();
    }
  }, 120);

  function onTyping() {
    const mention = mentionAtCaret(textarea);
    if (!mention) {
      close();
      return;
    }
    state.mention = mention;
    lookUp(mention);
  }

  textarea.addEventListener("input", onTyping);
  textarea.addEventListener("click", onTyping);
  textarea.addEventListener("blur", () => setTimeout(close, 150));
  textarea.addEventListener("keydown", (event) => {
    if (!menu.hidden && state.items.length) {
      const moves = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in moves) {
        event.preventDefault();
        highlight(state.active + moves[event.key]);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        choose(state.active);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        close();
        return;
      }
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  const form = el(
    "form",
    { class: "prompt-box", testid: "prompt-form" },
    el("label", { for: textarea.id, class: "prompt-label", text: "Prompt" }),
    el("div", { class: "prompt-field" }, textarea, menu),
    el(
      "div",
      { class: "controls" },
      field("Seconds", seconds),
      field("Size", size),
      field("Model", model),
      models,
      submit,
    ),
    el("p", {
      class: "hint",
      text: "Type @ and a few letters to bring in a character. Ctrl+Enter renders.",
    }),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    close();
    const body = {
      prompt: textarea.value.trim(),
      seconds: seconds.value,
      size: size.value,
      model: model.value.trim() || MODELS[0],
    };
    submit.disabled = true;
    try {
      const { body: video } = await api("/v1/videos", { method: "POST", json: body });
      trackVideo(video);
      showNotice(`Video ${video.id} queued; follow it under Jobs.`);
    } catch {
      // the banner says why
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
