"""A public character's permalink works for anyone: its page in a browser with no key, its Open
Graph tags in the HTML for link previews; a private one's address tells nothing and offers the
key field; and without a key nothing but public characters (and the files of characters) is read.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
from playwright.sync_api import Browser, expect

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess
from tests.web.browsing import KEY, PageWatch

# Everything an HTML-escaping slip would let through.
AWKWARD_NAME = 'Tom & "Jerry" <b>bold</b>'


class MetaTags(HTMLParser):
    """A page's `<meta property|name=… content=…>` tags and its `<title>`."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        key = found.get("property") or found.get("name")
        if tag == "meta" and key and found.get("content") is not None:
            self.tags[key] = str(found["content"])
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def make_character(server: ServerProcess, media: MediaServer, **fields: str) -> dict[str, Any]:
    with server.client() as owner:
        made = owner.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "timestamps": "0,2", **fields}
        )
    assert made.status_code == 200, made.text
    return dict(made.json())


def set_visibility(server: ServerProcess, character: dict[str, Any], visibility: str) -> None:
    with server.client() as owner:
        answer = owner.patch(f"/v1/characters/{character['id']}", json={"visibility": visibility})
    assert answer.json()["visibility"] == visibility, answer.text


def assert_generic(page: httpx.Response, character: dict[str, Any]) -> None:
    meta = MetaTags(page.text)
    assert meta.tags["og:title"] == "troupe" and meta.title == "troupe"
    assert "og:image" not in meta.tags and "og:url" not in meta.tags
    for private in (character["id"], character["username"], "Jerry"):
        assert private not in page.text


def test_open_graph_tags_and_keyless_reads_follow_visibility(
    make_server: StartServer, media: MediaServer
) -> None:
    server = make_server()
    character = make_character(server, media, name=AWKWARD_NAME, username="tom_jerry")
    ref = character["id"]
    with server.client(api_key="") as keyless:
        # Private: the permalink previews as any page does, the public route knows nothing.
        assert_generic(keyless.get("/characters/tom_jerry"), character)
        assert_generic(keyless.get("/characters/nobody_here"), character)
        for unseen in ("tom_jerry", ref, "nobody_here"):
            answer = keyless.get(f"/v1/public/characters/{unseen}")
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "character_not_found"

        set_visibility(server, character, "public")
        for seen in ("tom_jerry", "@tom_jerry", ref):
            answer = keyless.get(f"/v1/public/characters/{seen}")
            assert answer.status_code == 200 and answer.json() == character | {
                "visibility": "public"
            }

        page = keyless.get("/characters/tom_jerry")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/ui/app.js">' in page.text
        meta = MetaTags(page.text)
        assert meta.tags["og:title"] == f"{AWKWARD_NAME} (@tom_jerry)"
        assert meta.title == f"{AWKWARD_NAME} (@tom_jerry) · troupe"
        assert meta.tags["og:image"] == character["profile_picture_url"]
        assert meta.tags["og:image"].startswith(server.base_url + "/v1/characters/")
        assert (
            meta.tags["og:url"]
            == character["permalink"]
            == f"{server.base_url}/characters/tom_jerry"
        )
        assert "@tom_jerry" in meta.tags["og:description"]
        assert meta.tags["og:type"] == "profile"
        assert "<b>" not in page.text and "&lt;b&gt;bold&lt;/b&gt;" in page.text
        assert "&quot;Jerry&quot;" in page.text and "Tom &amp; " in page.text
        picture = keyless.get(meta.tags["og:image"])
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"

        # A key is still needed for everything else, the public character's own routes included.
        refused = [
            keyless.get(f"/v1/characters/{ref}"),
            keyless.get("/v1/characters/@tom_jerry"),
            keyless.get(f"/v1/videos/characters/{ref}"),
            keyless.get("/v1/characters"),
            keyless.get("/v1/characters?q=tom"),
            keyless.get("/v1/videos"),
            keyless.get("/v1/tasks"),
            keyless.patch(f"/v1/characters/{ref}", json={"visibility": "private"}),
            keyless.delete(f"/v1/characters/{ref}"),
            keyless.post("/v1/videos", json={"prompt": "@tom_jerry waves"}),
        ]
        for answer in refused:
            assert answer.status_code == 401, (answer.request.url, answer.text)
            assert answer.json()["error"]["code"] == "invalid_api_key"
        assert keyless.get("/v1/public/characters").status_code == 404  # no public list
        for method in ("PATCH", "DELETE"):
            assert keyless.request(method, f"/v1/public/characters/{ref}").status_code == 405

        # Taken back: private again at once, in the API and in the preview.
        set_visibility(server, character, "private")
        assert keyless.get(f"/v1/public/characters/{ref}").status_code == 404
        assert_generic(keyless.get("/characters/tom_jerry"), character)


def test_a_keyless_browser_sees_a_public_character_and_is_told_of_a_private_one(
    browser: Browser, make_server: StartServer, media: MediaServer
) -> None:
    server = make_server()
    character = make_character(server, media, name="Open Mascot", username="open_mascot")
    set_visibility(server, character, "public")
    watch = PageWatch(browser, server.base_url)

    page = watch.open("/characters/open_mascot")
    expect(page.get_by_test_id("character-display-name")).to_have_text("Open Mascot")
    expect(page.get_by_test_id("character-heading-username")).to_have_text("@open_mascot")
    expect(page.get_by_test_id("character-public")).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=character-profile]').naturalWidth > 0"
    )
    expect(page.get_by_test_id("character-profile")).to_have_attribute(
        "src", character["profile_picture_url"]
    )
    expect(page.get_by_test_id("character-reference")).to_have_count(len(character["references"]))
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=character-reference]')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    expect(page.get_by_test_id("character-voice")).to_have_attribute("src", character["voice_url"])
    expect(page.get_by_test_id("quality-resolution")).to_have_text("640x360")
    # No key, so nothing that needs one: no videos, no prompt box, no visibility switch.
    expect(page.get_by_test_id("character-videos-private")).to_be_visible()
    expect(page.get_by_test_id("character-visitor-prompt")).to_be_visible()
    expect(page.get_by_test_id("prompt-input")).to_have_count(0)
    expect(page.get_by_test_id("character-visibility")).to_have_count(0)
    expect(page).to_have_title("Open Mascot (@open_mascot) · troupe")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("error-banner")).to_have_count(0)
    expect(page.get_by_test_id("api-key-state")).to_have_text("no key")

    # Made private: the same address now says so, and offers the page's key field.
    set_visibility(server, character, "private")
    for path in ("/characters/open_mascot", "/characters/nobody_here"):
        page = watch.open(path)
        expect(page.get_by_test_id("character-private")).to_contain_text("private")
        expect(page.get_by_test_id("character-display-name")).to_have_count(0)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_test_id("error-banner")).to_have_count(0)
    page = watch.open("/characters/open_mascot")
    page.get_by_test_id("character-key-offer").click()
    expect(page.get_by_test_id("api-key")).to_be_focused()
    expect(page.get_by_test_id("api-key-form")).to_have_class(re.compile(r"\bneeds-key\b"))
    page.keyboard.type(KEY)
    page.keyboard.press("Enter")
    # The owner's key: the owner's page, switch and prompt box included.
    expect(page.get_by_test_id("character-display-name")).to_have_text("Open Mascot")
    expect(page.get_by_test_id("character-visibility")).to_have_attribute(
        "data-visibility", "private"
    )
    expect(page.get_by_test_id("prompt-input")).to_have_value("@open_mascot ")
    expect(page.get_by_text("No videos with this character yet.")).to_be_visible()
    expect(page.get_by_test_id("error-banner")).to_have_count(0)
    watch.assert_clean()
