// The gallery: the caller's characters, a page at a time (GET /v1/characters?after=).

import { api } from "./api.js";
import { characterPath, el, fill, routeLink } from "./dom.js";

const PAGE_SIZE = 24;

export function warningList(warnings, testid = "character-warning") {
  if (!warnings || warnings.length === 0) return null;
  return el(
    "ul",
    { class: "warnings", "aria-label": "Quality warnings" },
    warnings.map((text) => el("li", { class: "warning", testid, text: `⚠ ${text}` })),
  );
}

function card(character) {
  const warnings = character.quality?.warnings ?? [];
  return el(
    "li",
    {
      class: `card${warnings.length ? " has-warnings" : ""}`,
      testid: "character-card",
      dataset: { username: character.username, characterId: character.id },
    },
    routeLink(
      characterPath(character.username),
      { class: "card-link", testid: "character-link" },
      el("img", { src: character.profile_picture_url, alt: "", class: "avatar", loading: "lazy" }),
      el("span", { class: "handle", testid: "character-username", text: `@${character.username}` }),
      el("span", { class: "name", text: character.display_name }),
    ),
    warningList(warnings),
  );
}

/** A gallery section; reloads itself when characters change until `signal` aborts. */
export function gallery(bus, signal) {
  const grid = el("ul", { class: "gallery", testid: "gallery" });
  const empty = el("p", {
    class: "empty",
    testid: "gallery-empty",
    hidden: true,
    text: "No characters yet: make one below.",
  });
  const more = el(
    "button",
    { type: "button", class: "quiet", testid: "gallery-more", hidden: true },
    "Show more",
  );
  let after = null;
  let loading = 0;

  async function load(reset) {
    const run = (loading += 1);
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (!reset && after) query.set("after", after);
    more.disabled = true;
    try {
      const { body } = await api(`/v1/characters?${query}`);
      if (run !== loading) return; // a newer load started meanwhile
      if (reset) fill(grid);
      grid.append(...body.data.map(card));
      after = body.last_id;
      more.hidden = !body.has_more;
      empty.hidden = grid.children.length > 0;
    } catch {
      // the banner says why
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener("click", () => load(false));
  bus.addEventListener("characters-changed", () => load(true), { signal });
  load(true);
  return el(
    "section",
    { class: "panel" },
    el("h2", { text: "Characters" }),
    grid,
    empty,
    more,
  );
}
