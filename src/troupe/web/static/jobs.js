// The jobs list: video jobs (GET /v1/videos) and the character tasks started from this
// browser, each polled until it settles, as often as `openai-poll-after-ms` asks.

import { api, DEFAULT_POLL_MS } from "./api.js";
import { characterPath, el, emit, fill, routeLink, when } from "./dom.js";
import { showError, showNotice } from "./notify.js";
import { consistencyList, openPlayer, thumbnailButton } from "./player.js";

const TASKS_STORAGE = "troupe.characterTasks";
const MAX_STORED_TASKS = 20;
const LISTED_VIDEOS = 20;
const SETTLED = new Set(["completed", "failed", "expired"]);

const jobs = new Map(); // id -> {kind: "video" | "character", data, label, node, drawn}
let pollMs = DEFAULT_POLL_MS;
let timer = null;

const settled = (job) => SETTLED.has(job.data.status);

function storedTasks() {
  try {
    const tasks = JSON.parse(localStorage.getItem(TASKS_STORAGE) || "[]");
    return Array.isArray(tasks) ? tasks.filter((task) => typeof task?.id === "string") : [];
  } catch {
    return [];
  }
}

function storeTasks() {
  const tasks = [...jobs.values()]
    .filter((job) => job.kind === "character")
    .sort((a, b) => b.data.created_at - a.data.created_at)
    .slice(0, MAX_STORED_TASKS)
    .map((job) => ({ id: job.data.id, label: job.label }));
  localStorage.setItem(TASKS_STORAGE, JSON.stringify(tasks));
}

function progressRow(job) {
  const value = job.data.status === "completed" ? 100 : job.data.progress ?? 0;
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

function videoDetails(video) {
  if (video.status !== "completed") return [];
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

function characterDetails(task) {
  const character = task.result;
  if (task.status !== "completed" || !character) return [];
  return [
    routeLink(
      characterPath(character.username),
      { class: "job-character", testid: "job-character-link" },
      el("img", { src: character.profile_picture_url, alt: "", class: "avatar small" }),
      `@${character.username}`,
    ),
  ];
}

function drawJob(job) {
  const { data } = job;
  const title = job.kind === "video" ? data.prompt : job.label || "Character";
  return el(
    "li",
    {
      class: `job ${data.status}`,
      testid: "job",
      dataset: { jobId: data.id, kind: job.kind, status: data.status },
    },
    el(
      "div",
      { class: "job-head" },
      el("span", { class: "kind", text: job.kind === "video" ? "Video" : "Character" }),
      el("span", { class: `status ${data.status}`, testid: "job-status", text: data.status }),
      el("time", { class: "when", text: when(data.created_at) }),
    ),
    el("p", { class: "job-title", testid: "job-title", text: title }),
    progressRow(job),
    data.error ? errorLine(data.error) : null,
    job.kind === "video" ? videoDetails(data) : characterDetails(data),
  );
}

function render() {
  const list = document.getElementById("jobs");
  const ordered = [...jobs.values()].sort((a, b) => b.data.created_at - a.data.created_at);
  for (const job of ordered) {
    const state = JSON.stringify(job.data);
    if (job.drawn !== state) {
      job.node = drawJob(job);
      job.drawn = state;
    }
  }
  fill(list, ordered.map((job) => job.node));
  document.getElementById("jobs-empty").hidden = ordered.length > 0;
}

/** What to tell the page when a job it watched settles. */
function announce(job) {
  const { data } = job;
  if (job.kind === "video") {
    emit("videos-changed");
    if (data.status === "failed" && data.error) showError(data.error);
    return;
  }
  if (data.status === "completed" && data.result) {
    emit("characters-changed");
    const { username } = data.result;
    const link = routeLink(characterPath(username), { text: `@${username}` });
    showNotice("Character ", link, " is ready.");
  } else if (data.error) {
    showError(data.error);
  }
}

function update(job, data) {
  const wasSettled = settled(job);
  job.data = data;
  if (!wasSettled && settled(job)) announce(job);
}

async function refresh(job) {
  const id = encodeURIComponent(job.data.id);
  const path = job.kind === "video" ? `/v1/videos/${id}` : `/v1/tasks/${id}`;
  try {
    const { body, pollAfterMs } = await api(path, { quiet: true });
    if (pollAfterMs) pollMs = pollAfterMs;
    update(job, body);
  } catch (error) {
    if (error.status === 404) {
      jobs.delete(job.data.id); // deleted, or another key's: nothing to watch
      if (job.kind === "character") storeTasks();
    } else {
      showError(error);
    }
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

/** Start watching a video job (the answer of POST /v1/videos). */
export function trackVideo(video) {
  jobs.set(video.id, { kind: "video", data: video, label: null });
  render();
  schedule();
  emit("videos-changed");
}

/** Start watching a character task (a `generation.task`); `label` names it in the list. */
export function trackCharacterTask(task, label) {
  jobs.set(task.id, { kind: "character", data: task, label });
  storeTasks();
  render();
  if (settled(jobs.get(task.id))) announce(jobs.get(task.id));
  schedule();
}

/** Read the list again: the latest videos, and the character tasks this browser started. */
export async function reloadJobs() {
  jobs.clear();
  render();
  const videos = api(`/v1/videos?limit=${LISTED_VIDEOS}`).then(
    ({ body }) => body.data,
    () => [],
  );
  let unreachable = false;
  const tasks = storedTasks().map(({ id, label }) =>
    api(`/v1/tasks/${encodeURIComponent(id)}`, { quiet: true }).then(
      ({ body }) => ({ body, label }),
      (error) => {
        // 404: gone, or made with another key. Anything else: try again on the next reload.
        unreachable ||= error.status !== 404;
        return null;
      },
    ),
  );
  for (const video of await videos) jobs.set(video.id, { kind: "video", data: video, label: null });
  for (const task of await Promise.all(tasks)) {
    if (task) jobs.set(task.body.id, { kind: "character", data: task.body, label: task.label });
  }
  if (!unreachable) storeTasks();
  render();
  schedule();
}

export function initJobs() {
  document.getElementById("jobs-refresh").addEventListener("click", () => reloadJobs());
}
