// Finished videos: thumbnails for lists and the player dialog with each character's
// consistency. Content routes need the key, so the bytes come through fetch as blob URLs.

import { blobUrl } from "./api.js";
import { characterPath, el, fill, meter, routeLink } from "./dom.js";

const thumbnails = new Map(); // video id -> Promise<object URL>
let playing = null; // the object URL of the video in the player

function thumbnailUrl(videoId) {
  if (!thumbnails.has(videoId)) {
    const path = `/v1/videos/${encodeURIComponent(videoId)}/content?variant=thumbnail`;
    const url = blobUrl(path, { quiet: true });
    // A failed thumbnail is tried again next time the list is drawn.
    url.catch(() => thumbnails.delete(videoId));
    thumbnails.set(videoId, url);
  }
  return thumbnails.get(videoId);
}

/** A button showing the video's thumbnail; clicking it opens the player. */
export function thumbnailButton(video, testid = "video-thumbnail") {
  const image = el("img", { alt: "", class: "thumb-img" });
  thumbnailUrl(video.id).then((url) => {
    image.src = url;
  }, () => image.classList.add("missing"));
  return el(
    "button",
    { type: "button", class: "thumb", testid, title: "Play", onclick: () => openPlayer(video) },
    image,
    el("span", { class: "thumb-play", "aria-hidden": "true" }, "▶"),
  );
}

/** One line per character: @username, a bar and the percentage (n/a until scored). */
export function consistencyList(characters, testid = "consistency") {
  return characters.map((entry) =>
    el(
      "li",
      { class: "consistency", testid, dataset: { characterId: entry.id } },
      entry.username
        ? routeLink(characterPath(entry.username), { class: "handle", text: `@${entry.username}` })
        : el("span", { class: "handle", text: entry.id }),
      meter(entry.consistency, "consistency-meter"),
    ),
  );
}

export async function openPlayer(video) {
  const dialog = document.getElementById("player");
  const player = document.getElementById("player-video");
  const download = document.getElementById("player-download");
  document.getElementById("player-title").textContent = video.prompt;
  document.getElementById("player-meta").textContent =
    `${video.seconds} s · ${video.size} · ${video.model} (${video.backend}) · ${video.id}`;
  fill(
    document.getElementById("player-consistency"),
    video.characters.length
      ? consistencyList(video.characters)
      : el("li", { class: "empty", text: "No characters in this video." }),
  );
  dialog.dataset.videoId = video.id;
  if (!dialog.open) dialog.showModal();
  closeMedia();
  let url;
  try {
    url = await blobUrl(`/v1/videos/${encodeURIComponent(video.id)}/content`);
  } catch (error) {
    // the banner says why; the dialog says it too, where the picture would be
    document.getElementById("player-meta").textContent = `${error.code}: ${error.message}`;
    return;
  }
  if (dialog.dataset.videoId !== video.id || !dialog.open) {
    URL.revokeObjectURL(url); // closed, or another video opened, meanwhile
    return;
  }
  playing = url;
  player.src = url;
  download.href = url;
  download.download = `${video.id}.mp4`;
}

function closeMedia() {
  const player = document.getElementById("player-video");
  player.pause();
  player.removeAttribute("src");
  player.load();
  document.getElementById("player-download").removeAttribute("href");
  if (playing) URL.revokeObjectURL(playing);
  playing = null;
}

export function initPlayer() {
  const dialog = document.getElementById("player");
  document.getElementById("player-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    delete dialog.dataset.videoId;
    closeMedia();
  });
  // A click on a character's link inside the dialog leaves the player.
  dialog.addEventListener("click", (event) => {
    if (event.target.closest("a[data-route]")) dialog.close();
  });
}
