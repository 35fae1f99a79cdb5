// A character's page (its permalink, /characters/{username}): pictures, voice, quality
// report, source, a prompt box that mentions it, and the videos it appears in.
//
// A visitor whose key cannot read the character (no key, on a server with keys) still sees a
// public one, read from /v1/public/characters/: its pictures, voice, quality and source, but
// no prompt box and no videos, since videos belong to whoever made them and none is public.

import { api, apiKey, listAll } from "./api.js";
import { el, fill, meter, percent, safeHttpUrl, seconds, when } from "./dom.js";
import { warningList } from "./gallery.js";
import { showError } from "./notify.js";
import { consistencyList, thumbnailButton } from "./player.js";
import { promptBox } from "./prompt.js";

function row(label, value) {
  return [el("dt", { text: label }), el("dd", {}, value)];
}

function fact(testid, value, format = String) {
  return el("span", { testid, text: value == null ? "n/a" : format(value) });
}

const inSeconds = (value) => `${seconds(value)} s`;

function qualityReport(quality) {
  const warnings = warningList(quality.warnings, "quality-warning");
  return el(
    "dl",
    { class: "facts", testid: "character-quality" },
    row("Resolution", fact("quality-resolution", quality.resolution)),
    row("Sharpness", meter(quality.sharpness, "quality-sharpness")),
    row("Subject coverage", fact("quality-coverage", quality.subject_coverage, percent)),
    row("Subject confidence", meter(quality.subject_confidence, "quality-confidence")),
    row("Best frame", fact("quality-best-frame", quality.best_frame_time, inSeconds)),
    row("Warnings", warnings ?? el("span", { class: "muted", text: "none" })),
  );
}

function sourceFacts(source) {
  const link = source.url && safeHttpUrl(source.url);
  const origin = {
    url: link
      ? el("a", { href: link, rel: "noreferrer noopener", target: "_blank", text: source.url })
      : source.url,
    task: `video ${source.task_id}`,
    upload: "an uploaded file",
  }[source.type];
  return el(
    "dl",
    { class: "facts", testid: "character-source" },
    row("From", origin ?? source.type),
    row("Window", `${source.timestamps.replace(",", "–")} s`),
  );
}

function visibilityButton(character) {
  const button = el("button", { type: "button", class: "quiet", testid: "character-visibility" });
  const show = (visibility) => {
    button.dataset.visibility = visibility;
    button.textContent =
      visibility === "public" ? "Public · make private" : "Private · make public";
  };
  show(character.visibility);
  button.addEventListener("click", async () => {
    const wanted = button.dataset.visibility === "public" ? "private" : "public";
    button.disabled = true;
    try {
      const { body } = await api(`/v1/characters/${encodeURIComponent(character.id)}`, {
        method: "PATCH",
        json: { visibility: wanted },
      });
      show(body.visibility);
    } catch {
      // the banner says why
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function videoCard(video, characterId) {
  const done = video.status === "completed";
  return el(
    "li",
    {
      class: "video-card",
      testid: "character-video",
      dataset: { videoId: video.id, status: video.status },
    },
    done ? thumbnailButton(video) : el("div", { class: "thumb placeholder", text: video.status }),
    el("p", { class: "job-title", text: video.prompt }),
    done
      ? el(
          "ul",
          { class: "consistency-list" },
          consistencyList(video.characters.filter((c) => c.id === characterId)),
        )
      : el("p", { class: "muted", text: `${video.status} · ${video.progress}%` }),
  );
}

function videosSection(character, bus, signal) {
  const list = el("ul", { class: "video-grid", testid: "character-videos" });
  const empty = el("p", {
    class: "empty",
    hidden: true,
    text: "No videos with this character yet.",
  });
  const features = (video) => video.characters.some((c) => c.id === character.id);
  async function load() {
    try {
      const videos = (await listAll("/v1/videos")).filter(features);
      if (signal.aborted) return;
      fill(list, videos.map((video) => videoCard(video, character.id)));
      empty.hidden = videos.length > 0;
    } catch {
      // the banner says why
    }
  }
  bus.addEventListener("videos-changed", load, { signal });
  load();
  return el(
    "section",
    { class: "panel" },
    el("h2", { text: `Videos with @${character.username}` }),
    list,
    empty,
  );
}

/** Point at the page's own API key field (in the top bar), which reloads the view once saved. */
function keyOffer(text) {
  return el(
    "button",
    {
      type: "button",
      class: "quiet",
      testid: "character-key-offer",
      onclick: () => {
        document.getElementById("key-form").classList.add("needs-key");
        document.getElementById("api-key").focus();
      },
    },
    text,
  );
}

function visitorVideos(character) {
  return el(
    "section",
    { class: "panel" },
    el("h2", { text: `Videos with @${character.username}` }),
    el("p", {
      class: "empty",
      testid: "character-videos-private",
      text: "Videos are seen only by whoever made them; none are public.",
    }),
    keyOffer("Enter your API key to see yours"),
  );
}

function visitorPrompt(character) {
  return el(
    "section",
    { class: "panel", testid: "character-visitor-prompt" },
    el("h2", { text: `Make a video with @${character.username}` }),
    el("p", { class: "muted", text: "Making videos needs an API key for this server." }),
    keyOffer("Enter an API key"),
  );
}

function header(character, visitor) {
  return el(
    "section",
    {
      class: "panel character-head",
      testid: "character-page",
      dataset: { characterId: character.id },
    },
    el("img", {
      src: character.profile_picture_url,
      alt: "",
      class: "avatar large",
      testid: "character-profile",
    }),
    el(
      "div",
      { class: "character-title" },
      el("h1", { testid: "character-display-name", text: character.display_name }),
      el("p", {
        class: "handle",
        testid: "character-heading-username",
        text: `@${character.username}`,
      }),
      el("p", { class: "muted", text: `${character.id} · made ${when(character.created_at)}` }),
      visitor
        ? el("p", { class: "muted", testid: "character-public", text: "Public character" })
        : visibilityButton(character),
    ),
  );
}

function media(character) {
  const references = character.references.map((url, i) =>
    el("img", {
      src: url,
      alt: `reference ${i + 1}`,
      class: "reference",
      testid: "character-reference",
      loading: "lazy",
    }),
  );
  const voice = character.voice_url
    ? el("audio", {
        controls: true,
        preload: "none",
        src: character.voice_url,
        testid: "character-voice",
      })
    : el("p", { class: "muted", text: "No voice: the source had no sound." });
  return el(
    "section",
    { class: "panel" },
    el("h2", { text: "References" }),
    el("div", { class: "references", testid: "character-references" }, references),
    el("h2", { text: "Voice" }),
    voice,
  );
}

function draw(view, character, visitor, bus, signal) {
  fill(
    view,
    header(character, visitor),
    visitor
      ? visitorPrompt(character)
      : el(
          "section",
          { class: "panel" },
          el("h2", { text: `Make a video with @${character.username}` }),
          promptBox({ initial: `@${character.username} ` }),
        ),
    el(
      "div",
      { class: "two-columns" },
      media(character),
      el(
        "section",
        { class: "panel" },
        el("h2", { text: "Quality" }),
        qualityReport(character.quality ?? {}),
        el("h2", { text: "Source" }),
        sourceFacts(character.source),
      ),
    ),
    visitor ? visitorVideos(character) : videosSection(character, bus, signal),
  );
}

/**
 * The character as the saved key sees it (its own, or anyone's public one; on a server
 * without keys, all of them); failing a key, as the public may see it. `visitor` says which.
 */
async function readCharacter(username) {
  const ref = encodeURIComponent(username);
  try {
    const { body } = await api(`/v1/characters/${ref}`, { quiet: true });
    return { character: body, visitor: false };
  } catch (error) {
    if (error.code !== "invalid_api_key") throw error;
    if (apiKey()) showError(error); // a wrong saved key: say so, then show the public view
  }
  const { body } = await api(`/v1/public/characters/${ref}`, { quiet: true });
  return { character: body, visitor: true };
}

/** What a private or unknown character's address shows: both alike, and the key field. */
function missing(username, error) {
  const hidden = error.code === "character_not_found";
  if (!hidden) showError(error);
  return el(
    "section",
    { class: "panel", testid: "character-missing", dataset: { code: error.code } },
    el("h1", { text: `@${username}` }),
    hidden
      ? [
          el("p", {
            testid: "character-private",
            text: "This character is private, or there is no such character.",
          }),
          el("p", { class: "muted", text: "If it is yours, your API key shows it." }),
          keyOffer("Enter your API key"),
        ]
      : el("p", { text: `${error.code}: ${error.message}` }),
    el("p", {}, el("a", { href: "/", "data-route": true, text: "Back to all characters" })),
  );
}

/** Draw the page of `username` into `view`; `signal` aborts when the page is left. */
export async function characterPage(view, username, bus, signal) {
  fill(view, el("p", { class: "muted", text: "Loading…" }));
  try {
    const { character, visitor } = await readCharacter(username);
    if (signal.aborted) return;
    document.title = `${character.display_name} (@${character.username}) · troupe`;
    draw(view, character, visitor, bus, signal);
  } catch (error) {
    if (!signal.aborted) fill(view, missing(username, error));
  }
}
