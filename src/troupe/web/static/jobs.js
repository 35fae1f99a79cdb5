// The jobs list: the caller's latest tasks (GET /v1/tasks), character creations and videos
// alike, wherever they were started. Each unfinished one is polled at /v1/tasks/{id} as often
// as `openai-poll-after-ms` asks; the list itself is read again every few seconds while the
// page is in view, so jobs started elsewhere (the CLI, another browser) show up on their own.

import { api, DEFAULT_POLL_MS } from "./api.js";
import { characterPath, el, emit, fill, routeLink, when } from "./dom.js";
import { showError, showNotice } from "./notify.js";
import { consistencyList, openPlayer, thumbnailButton } from "./player.js";

const LISTED_TASKS = 20;
const RELIST_MS = 5000;
const SETTLED = new Set(["completed", "failed"]);

const jobs = new Map(); // task id -> {task, since, node, drawn}
const titles = new Map(); // task id -> what the page knows to call it before it completes
let pollMs = DEFAULT_POLL_MS;
let timer = null;
let listsAsked = 0; // list requests sent; a job tracked since list N was asked is kept by it
let listApplied = 0; // the latest list request whose answer was taken

const settled = (job) => SETTLED.has(job.task.status);

/** A video task's status is its video's, which may have expired since it completed. */
const statusOf = (task) => task.result?.status ?? task.status;

function titleOf(task) {
  const { result } = task;
  if (task.kind === "video") return result?.prompt ?? titles.get(task.id) ?? "Video";
  if (result) return `${result.display_name} (@${result.username})`;
  return titles.get(task.id) ?? "New character";
}

function progressRow(task) {
  const value = task.status === "completed" ? 100 : task.progress ?? 0;
  return el(
    "div",
    { class: "progress-row" },
    el("progress", { max: "100", value: String(value), testid: "job-progress" }),
    el("span", { class: "progress-text", testid: "job-progress-text", text: `${value}%` }),
  );
}

function errorLine(error) {
  return el(
    "p",
    { class: "job-error", testid: "job-error" },
    el("strong", { text: error.code }),
    " ",
    error.message,
  );
}

function waitingLine(task) {
  if (task.status !== "queued" || !task.waiting_for) return null;
  return el("p", {
    class: "job-note",
    testid: "job-waiting",
    text: `Waiting for ${task.waiting_for}.`,
  });
}

function videoDetails(video) {
  if (video?.status !== "completed") return [];
  return [
    el(
      "div",
      { class: "job-media" },
      thumbnailButton(video, "job-thumbnail"),
      el(
        "button",
        { type: "button", testid: "job-play", onclick: () => openPlayer(video) },
        "Play",
      ),
    ),
    el("ul", { class: "consistency-list" }, consistencyList(video.characters)),
  ];
}

function characterDetails(character) {
  if (!character) return [];
  return [
    routeLink(
      characterPath(character.username),
      { class: "job-character", testid: "job-character-link" },
      el("img", { src: character.profile_picture_url, alt: "", class: "avatar small" }),
      `@${character.username}`,
    ),
  ];
}

function drawJob(task) {
  const status = statusOf(task);
  const gone = task.status === "completed" && !task.result;
  return el(
    "li",
    {
      class: `job ${status}`,
      testid: "job",
      dataset: { jobId: task.id, kind: task.kind, status },
    },
    el(
      "div",
      { class: "job-head" },
      el("span", { class: "kind", text: task.kind === "video" ? "Video" : "Character" }),
      el("span", { class: `status ${status}`, testid: "job-status", text: status }),
      el("time", { class: "when", text: when(task.created_at) }),
    ),
    el("p", { class: "job-title", testid: "job-title", text: titleOf(task) }),
    progressRow(task),
    waitingLine(task),
    task.error ? errorLine(task.error) : null,
    gone ? el("p", { class: "job-note", testid: "job-gone", text: "Deleted since." }) : null,
    task.kind === "video" ? videoDetails(task.result) : characterDetails(task.result),
  );
}

function render() {
  const list = document.getElementById("jobs");
  const ordered = [...jobs.values()].sort((a, b) => b.task.created_at - a.task.created_at);
  for (const job of ordered) {
    const state = JSON.stringify([job.task, titleOf(job.task)]);
    if (job.drawn !== state) {
      job.node = drawJob(job.task);
      job.drawn = state;
    }
  }
  fill(list, ordered.map((job) => job.node));
  document.getElementById("jobs-empty").hidden = ordered.length > 0;
}

/** Tell the page's other views that what a task makes has changed. */
function changed(task) {
  emit(task.kind === "video" ? "videos-changed" : "characters-changed");
}

/** What to tell the page when a job it watched settles. */
function announce(task) {
  changed(task);
  if (task.kind === "character" && task.status === "completed" && task.result) {
    const { username } = task.result;
    const link = routeLink(characterPath(username), { text: `@${username}` });
    showNotice("Character ", link, " is ready.");
  } else if (task.status === "failed" && task.error) {
    showError(task.error);
  }
}

function update(job, task) {
  if (settled(job) && !SETTLED.has(task.status)) return; // an answer older than the one shown
  const wasSettled = settled(job);
  job.task = task;
  if (!wasSettled && settled(job)) announce(task);
}

async function refresh(job) {
  const { id } = job.task;
  try {
    const { body, pollAfterMs } = await api(`/v1/tasks/${encodeURIComponent(id)}`, {
      quiet: true,
    });
    if (pollAfterMs) pollMs = pollAfterMs;
    if (jobs.get(id) === job) update(job, body);
  } catch (error) {
    if (error.status !== 404) showError(error);
    else if (jobs.get(id) === job) jobs.delete(id); // deleted, or another key's: nothing to watch
  }
}

function schedule() {
  if (timer !== null || ![...jobs.values()].some((job) => !settled(job))) return;
  timer = setTimeout(async () => {
    await Promise.all([...jobs.values()].filter((job) => !settled(job)).map(refresh));
    timer = null;
    render();
    schedule();
  }, pollMs);
}

/** The prompt of a video started elsewhere, for its title while it renders. */
async function learnPrompt(id) {
  titles.set(id, null); // asked once, whatever the answer
  try {
    const { body } = await api(`/v1/videos/${encodeURIComponent(id)}`, { quiet: true });
    titles.set(id, body.prompt);
    render();
  } catch {
    // its title waits for its result
  }
}

function track(task, title) {
  jobs.set(task.id, { task, since: listsAsked });
  if (title) titles.set(task.id, title);
  render();
  schedule();
}

/** Start watching a video job (the answer of POST /v1/videos). */
export function trackVideo(video) {
  const { id, model, status, progress, created_at, completed_at, error } = video;
  const result = status === "completed" ? video : null;
  const task = { id, kind: "video", model, status, progress, created_at, completed_at, error };
  track({ ...task, object: "generation.task", result }, video.prompt);
  emit("videos-changed");
}

/** Start watching a character task (a `generation.task`); `label` names it in the list. */
export function trackCharacterTask(task, label) {
  track(task, label);
  if (settled(jobs.get(task.id))) announce(task);
}

/**
 * Read the list: the latest tasks replace the ones shown, but for those tracked since it was
 * asked for. A job that settles meanwhile is announced; one that appears already settled only
 * refreshes the views (the gallery, a character's videos) unless this is a fresh list.
 */
async function relist({ quiet, fresh }) {
  const asked = ++listsAsked;
  let page;
  try {
    ({ body: page } = await api(`/v1/tasks?limit=${LISTED_TASKS}`, { quiet }));
  } catch {
    return; // shown unless quiet; the next list tries again
  }
  if (asked <= listApplied) return; // a later list (or a cleared one) already answered
  listApplied = asked;
  const listed = new Map();
  for (const task of page.data) {
    let job = jobs.get(task.id);
    if (job) {
      update(job, task);
    } else {
      job = { task, since: asked };
      if (!fresh && settled(job)) changed(task);
    }
    listed.set(task.id, job);
    if (task.kind === "video" && !task.result && !titles.has(task.id)) learnPrompt(task.id);
  }
  for (const [id, job] of jobs) {
    if (!listed.has(id) && job.since >= asked) listed.set(id, job);
  }
  jobs.clear();
  for (const [id, job] of listed) jobs.set(id, job);
  for (const id of titles.keys()) if (!jobs.has(id)) titles.delete(id);
  render();
  schedule();
}

/** Read the list afresh (the key changed, or Refresh was pressed); failures show a banner. */
export async function reloadJobs({ quiet = false } = {}) {
  jobs.clear();
  listApplied = listsAsked; // answers to lists asked before now are dropped
  render();
  await relist({ quiet, fresh: true });
}

function relistLater() {
  setTimeout(async () => {
    if (document.visibilityState === "visible") await relist({ quiet: true, fresh: false });
    relistLater();
  }, RELIST_MS);
}

export function initJobs() {
  document.getElementById("jobs-refresh").addEventListener("click", () => reloadJobs());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") relist({ quiet: true, fresh: false });
  });
  relistLater();
}
