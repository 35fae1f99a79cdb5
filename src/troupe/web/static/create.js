// Creating a character from an upload or a URL, with the window picker: the server suggests
// the best 1-3 s windows (POST /v1/characters/windows), the page shows frames of the chosen
// one, and creation runs as a task that the jobs list follows.

import { api } from "./api.js";
import { characterPath, el, emit, field, fill, routeLink, seconds } from "./dom.js";
import { showNotice } from "./notify.js";
import { trackCharacterTask } from "./jobs.js";
import { FrameReader, canvasStrip, frameTimes, unavailable, videoStrip } from "./frames.js";

const SUGGESTED = 5;
const MIN_WINDOW = 1;
const MAX_WINDOW = 3;
const EPSILON = 1e-6;
// The start and end fields show hundredths of a second; a suggested window may start at any
// frame's time (0.792 s), so a chip matches what the fields say to within half a hundredth.
const SAME_TIME = 0.005;
const VIDEO_TYPES = "video/*,.mp4,.mov,.m4v,.mkv,.webm,.avi";

function stem(name) {
  const base = name.split(/[\\/]/).pop() || "";
  return base.replace(/\.[^.]*$/, "").replace(/[_-]+/g, " ").trim().slice(0, 80);
}

function input(id, props = {}) {
  return el("input", { id, testid: id, ...props });
}

export function createPanel() {
  const fileInput = input("create-file", { type: "file", accept: VIDEO_TYPES });
  const urlInput = input("create-url", {
    type: "url",
    placeholder: "https://cdn.example.com/mascot.mp4",
  });
  const status = el("p", {
    class: "create-status",
    testid: "create-status",
    "aria-live": "polite",
  });
  const chips = el("div", {
    class: "chips",
    testid: "window-chips",
    role: "group",
    "aria-label": "Suggested windows",
  });
  const startInput = input("window-start", { type: "number", min: "0", step: "0.1" });
  const endInput = input("window-end", { type: "number", min: "0", step: "0.1" });
  const length = el("span", { class: "muted", testid: "window-length" });
  const windowHint = el("p", { class: "hint invalid", testid: "window-hint", hidden: true });
  const strip = el("div", { class: "strip", testid: "frame-strip" });
  const nameInput = input("create-name", { maxlength: "80", placeholder: "Acme Mascot" });
  const usernameInput = input("create-username", { maxlength: "30", placeholder: "optional" });
  const createButton = el(
    "button",
    { type: "submit", class: "primary", testid: "create-submit" },
    "Create character",
  );
  const picker = el(
    "div",
    { class: "picker", testid: "window-picker", hidden: true },
    el("h3", { text: "Suggested windows" }),
    chips,
    el(
      "div",
      { class: "controls" },
      field("Start (s)", startInput),
      field("End (s)", endInput),
      length,
    ),
    windowHint,
    el("h3", { text: "Frames of the window" }),
    strip,
    el(
      "form",
      { class: "controls create-form", novalidate: true, onsubmit: (event) => create(event) },
      field("Name", nameInput),
      field("Username", usernameInput),
      createButton,
    ),
  );

  // source: {kind: "upload", file} | {kind: "url", url}; preview: "canvas" | "video" | "none";
  // scan and strip count requests, so that an answer to an older one is dropped.
  const fresh = { source: null, duration: 0, reader: null, objectUrl: null, preview: "none" };
  const state = { ...fresh, scan: 0, strip: 0 };

  function say(text) {
    status.textContent = text;
  }

  function reset() {
    state.reader?.close();
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
    Object.assign(state, fresh);
    state.scan += 1;
    state.strip += 1;
    picker.hidden = true;
    fill(chips);
    fill(strip);
  }

  function chosenWindow() {
    const start = Number.parseFloat(startInput.value);
    const end = Number.parseFloat(endInput.value);
    const span = end - start;
    let problem = null;
    if (!Number.isFinite(start) || !Number.isFinite(end)) problem = "give a start and an end";
    else if (start < 0 || end > state.duration + EPSILON) {
      problem = `the window must lie inside the video (0–${seconds(state.duration)} s)`;
    } else if (span < MIN_WINDOW - EPSILON || span > MAX_WINDOW + EPSILON) {
      problem = `a window is ${MIN_WINDOW}–${MAX_WINDOW} s long; this one is ${seconds(span)} s`;
    }
    return { start, end, problem };
  }

  function windowChanged() {
    const { start, end, problem } = chosenWindow();
    windowHint.hidden = !problem;
    windowHint.textContent = problem ? `Choose another window: ${problem}.` : "";
    createButton.disabled = Boolean(problem);
    length.textContent = problem ? "" : `${seconds(end - start)} s of ${seconds(state.duration)} s`;
    for (const chip of chips.children) {
      const near = (a, b) => Math.abs(Number(a) - b) < SAME_TIME;
      const same = near(chip.dataset.start, start) && near(chip.dataset.end, end);
      chip.setAttribute("aria-pressed", String(same));
    }
    if (!problem) drawStrip(start, end);
  }

  function pick(start, end) {
    startInput.value = seconds(start);
    endInput.value = seconds(end);
    windowChanged();
  }

  async function drawStrip(start, end) {
    const run = (state.strip += 1);
    const times = frameTimes(start, end);
    if (state.preview === "canvas") {
      try {
        await canvasStrip(strip, state.reader, times, () => run === state.strip);
        return;
      } catch (error) {
        if (run !== state.strip) return;
        const remote = state.source?.kind === "url";
        // A URL without CORS headers fails to load for canvas use or taints the canvas:
        // paused <video> elements show it without reading pixels back.
        state.preview = remote ? "video" : "none";
        if (!remote) {
          unavailable(strip, "this browser cannot play the file");
          return;
        }
      }
    }
    if (state.preview === "video") videoStrip(strip, state.source.url, times);
  }

  function showWindows(found) {
    state.duration = found.duration;
    startInput.max = endInput.max = String(found.duration);
    fill(
      chips,
      found.data.map((candidate, i) =>
        el(
          "button",
          {
            type: "button",
            class: "chip",
            testid: "window-chip",
            dataset: { start: candidate.start, end: candidate.end, score: candidate.score },
            title: `score ${candidate.score}`,
            onclick: () => pick(candidate.start, candidate.end),
          },
          i === 0 ? el("span", { class: "best", text: "best" }) : null,
          `${seconds(candidate.start)}–${seconds(candidate.end)} s`,
          el("span", { class: "score", text: ` · score ${candidate.score.toFixed(2)}` }),
        ),
      ),
    );
    picker.hidden = false;
    say(`${seconds(found.duration)} s of video. Pick a window, or set your own.`);
    const best = found.data[0];
    if (best) pick(best.start, best.end);
    else pick(0, Math.min(MAX_WINDOW, found.duration));
  }

  async function scan(source, request) {
    const run = state.scan;
    say("Finding the best windows…");
    try {
      const { body } = await api("/v1/characters/windows", { method: "POST", ...request });
      if (run === state.scan && state.source === source) showWindows(body);
    } catch {
      if (run === state.scan) say("");
    }
  }

  function scanUpload(file) {
    reset();
    const source = { kind: "upload", file };
    state.source = source;
    state.objectUrl = URL.createObjectURL(file);
    state.reader = new FrameReader(state.objectUrl);
    state.preview = "canvas";
    urlInput.value = "";
    nameInput.value = stem(file.name);
    const form = new FormData();
    form.append("video", file);
    form.append("count", String(SUGGESTED));
    scan(source, { form });
  }

  function scanUrl(url) {
    reset();
    const source = { kind: "url", url };
    state.source = source;
    state.reader = new FrameReader(url, { crossOrigin: "anonymous" });
    state.preview = "canvas";
    fileInput.value = "";
    if (!nameInput.value) nameInput.value = stem(new URL(url, location.href).pathname);
    scan(source, { json: { url, count: SUGGESTED } });
  }

  async function create(event) {
    event.preventDefault();
    const source = state.source;
    const { start, end, problem } = chosenWindow();
    const name = nameInput.value.trim();
    const username = usernameInput.value.trim().replace(/^@/, "");
    if (!source || problem) return;
    if (!name) {
      say("Give the character a name.");
      nameInput.focus();
      return;
    }
    const timestamps = `${seconds(start)},${seconds(end)}`;
    createButton.disabled = true;
    let answer;
    try {
      if (source.kind === "upload") {
        const form = new FormData();
        form.append("name", name);
        form.append("video", source.file);
        form.append("timestamps", timestamps);
        if (username) form.append("username", username);
        const headers = { Prefer: "respond-async" }; // a task to follow, not a long wait
        answer = await api("/v1/videos/characters", { method: "POST", form, headers });
      } else {
        const json = { url: source.url, timestamps, name, async: true };
        if (username) json.username = username;
        answer = await api("/v1/characters", { method: "POST", json });
      }
    } catch {
      createButton.disabled = false;
      return; // the banner says why; the choices stay for another try
    }
    const label = username ? `${name} (@${username})` : name;
    if (answer.body.object === "generation.task") {
      trackCharacterTask(answer.body, label);
      say(`Creating ${label}: follow it under Jobs.`);
    } else {
      const { username: made } = answer.body;
      emit("characters-changed");
      showNotice("Character ", routeLink(characterPath(made), { text: `@${made}` }), " is ready.");
      say("");
    }
    reset();
    fileInput.value = "";
    urlInput.value = "";
    nameInput.value = "";
    usernameInput.value = "";
    createButton.disabled = false;
  }

  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) scanUpload(fileInput.files[0]);
  });
  startInput.addEventListener("input", windowChanged);
  endInput.addEventListener("input", windowChanged);

  return el(
    "section",
    { class: "panel", testid: "create-panel" },
    el("h2", { text: "Create a character" }),
    el(
      "p",
      { class: "hint" },
      "1–3 s of a short video become a reusable character; the server suggests the best "
        + "windows. Real people are refused.",
    ),
    el(
      "div",
      { class: "source-row" },
      field("Upload a video", fileInput),
      el("span", { class: "or", text: "or" }),
      el(
        "form",
        {
          class: "url-form",
          onsubmit: (event) => {
            event.preventDefault();
            if (urlInput.value.trim()) scanUrl(urlInput.value.trim());
          },
        },
        field("a video URL", urlInput),
        el("button", { type: "submit", testid: "create-url-scan" }, "Find windows"),
      ),
    ),
    status,
    picker,
  );
}
