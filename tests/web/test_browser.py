"""The browser UI in a real Chromium, through the page alone: a character made with the window
picker, mentioned through autocomplete, rendered, played and scored; and the errors it shows.

Chromium is the system's (Debian's `chromium`), never one that Playwright downloads.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import StartServer
from tests.support import MediaServer
from tests.web.browsing import KEY, PageWatch


def test_page_routes_serve_the_files_and_stay_out_of_the_api_document(
    make_server: StartServer,
) -> None:
    server = make_server()
    with httpx.Client(base_url=server.base_url) as client:
        for path in ("/", "/characters/acme_mascot"):
            page = client.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert '<script type="module" src="/ui/app.js">' in page.text
            assert "script-src 'self'" in page.headers["content-security-policy"]
        script = client.get("/ui/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert client.get("/ui/style.css").headers["content-type"].startswith("text/css")
        for missing in ("/ui/nothing.js", "/ui/routes.py", "/ui/..%2Froutes.py"):
            assert client.get(missing).status_code == 404, missing
        paths = client.get("/openapi.json").json()["paths"]
    assert not any(path == "/" or path.startswith(("/ui", "/characters/")) for path in paths)


def test_an_open_server_needs_no_key_and_a_url_source_previews_without_cors(
    browser: Browser, make_server: StartServer, media: MediaServer
) -> None:
    server = make_server(env={"TROUPE_API_KEYS": ""})
    watch = PageWatch(browser, server.base_url, media.base_url)
    page = watch.open("/")
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    expect(page.get_by_test_id("jobs-empty")).to_be_visible()
    expect(page.get_by_test_id("api-key-state")).to_have_text("no key")

    # The media server sends no CORS headers (nor answers Range requests), so its frames
    # cannot be drawn on a canvas: the strip shows paused videos, each at its time.
    page.get_by_test_id("create-url").fill(media.url("mascot.mp4"))
    page.get_by_test_id("create-url-scan").click()
    expect(page.get_by_test_id("window-chip").first).to_have_attribute("aria-pressed", "true")
    frames = page.locator('[data-testid="frame-strip"] video[data-testid="frame"]')
    expect(frames).to_have_count(6)
    expect(frames.and_(page.locator('[data-drawn="true"]'))).to_have_count(6)
    expect(page.get_by_test_id("frame-strip-unavailable")).to_have_count(0)
    expect(page.get_by_test_id("create-name")).to_have_value("mascot")
    page.get_by_test_id("create-submit").click()
    card = page.locator('[data-testid="character-card"][data-username="mascot"]')
    expect(card.get_by_test_id("character-username")).to_have_text("@mascot")

    # An unknown username reads as a private one would: no banner, the key field offered.
    page = watch.open("/characters/nobody_here")
    missing = page.get_by_test_id("character-missing")
    expect(missing).to_have_attribute("data-code", "character_not_found")
    expect(missing.get_by_test_id("character-private")).to_contain_text("private")
    expect(missing.get_by_test_id("character-key-offer")).to_be_visible()
    expect(page.get_by_test_id("error-banner")).to_have_count(0)
    page.get_by_test_id("home-link").click()
    expect(page).to_have_url(server.base_url + "/")
    expect(page.get_by_test_id("character-card")).to_have_count(1)
    watch.assert_clean()


def test_create_a_character_mention_it_render_and_play(
    browser: Browser, make_server: StartServer, media_dir: Path
) -> None:
    server = make_server()
    watch = PageWatch(browser, server.base_url)
    page = watch.open("/")

    # This server has keys: the page says it needs one, then works once it has it.
    expect(page.get_by_test_id("error-banner").first).to_contain_text("invalid_api_key")
    page.wait_for_load_state("networkidle")  # no keyless request left to fail later
    page.get_by_test_id("api-key").fill(KEY)
    page.get_by_test_id("api-key-save").click()
    expect(page.get_by_test_id("error-banner")).to_have_count(0)
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()

    # An upload: the server suggests windows, the page draws frames of the chosen one.
    page.get_by_test_id("create-file").set_input_files(media_dir / "small.mp4")
    chips = page.get_by_test_id("window-chip")
    expect(chips.first).to_have_attribute("aria-pressed", "true")
    chosen = chips.last
    chosen.click()
    expect(chosen).to_have_attribute("aria-pressed", "true")
    start, end = (float(chosen.get_attribute(f"data-{edge}") or "nan") for edge in ("start", "end"))
    assert start >= 0 and 1 <= end - start <= 3 and end <= 3.0 + 1e-6
    assert float(page.get_by_test_id("window-start").input_value()) == pytest.approx(start)
    assert float(page.get_by_test_id("window-end").input_value()) == pytest.approx(end)
    frames = page.get_by_test_id("frame-strip").get_by_test_id("frame")
    expect(frames).to_have_count(6)
    expect(page.locator('[data-testid="frame"][data-drawn="true"]')).to_have_count(6)
    shades = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="frame"]')].map((canvas) => {
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            return new Set(Array.from(pixels.filter((_, i) => i % 4 === 1))).size;
        })"""
    )
    assert all(distinct > 10 for distinct in shades), shades  # pictures, not blank canvases
    # A window too long is refused before anything is sent.
    page.get_by_test_id("window-end").fill(str(start + 3.5))
    expect(page.get_by_test_id("window-hint")).to_be_visible()
    expect(page.get_by_test_id("create-submit")).to_be_disabled()
    chosen.click()
    expect(page.get_by_test_id("create-submit")).to_be_enabled()

    page.get_by_test_id("create-name").fill("Pixel Mascot")
    page.get_by_test_id("create-username").fill("pixel_mascot")
    page.get_by_test_id("create-submit").click()
    task = page.locator('[data-testid="job"][data-kind="character"]')
    expect(task).to_have_attribute("data-status", "completed")
    expect(task.get_by_test_id("job-progress-text")).to_have_text("100%")
    card = page.locator('[data-testid="character-card"][data-username="pixel_mascot"]')
    expect(card.get_by_test_id("character-username")).to_have_text("@pixel_mascot")
    expect(card).to_contain_text("Pixel Mascot")
    expect(card.get_by_test_id("character-warning").filter(has_text="below 720p")).to_be_visible()
    with server.client() as client:
        character = client.get("/v1/characters/pixel_mascot").json()
    assert character["source"]["timestamps"] == f"{start:g},{end:g}"
    assert character["permalink"] == f"{server.base_url}/characters/pixel_mascot"
    assert card.get_by_test_id("character-link").get_attribute("href") == "/characters/pixel_mascot"

    # Its page, opened at its permalink.
    page = watch.open("/characters/pixel_mascot")
    expect(page.get_by_test_id("character-heading-username")).to_have_text("@pixel_mascot")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=character-profile]').naturalWidth > 0"
    )
    expect(page.get_by_test_id("character-reference")).not_to_have_count(0)
    voice = page.get_by_test_id("character-voice")
    expect(voice).to_have_attribute("src", character["voice_url"])
    expect(page.get_by_test_id("quality-resolution")).to_have_text("640x360")
    expect(page.get_by_test_id("quality-warning").filter(has_text="below 720p")).to_be_visible()
    expect(page.get_by_test_id("quality-best-frame")).to_have_text(re.compile(r"^[\d.]+ s$"))
    # As the page's percent(): JavaScript's Math.round, half up.
    confidence = f"{math.floor(character['quality']['subject_confidence'] * 100 + 0.5)}%"
    expect(page.get_by_test_id("quality-confidence")).to_contain_text(confidence)
    expect(page.get_by_test_id("character-source")).to_contain_text(f"{start:g}–{end:g} s")

    # The prompt box: `@` and a few letters suggest the character; Enter takes it.
    prompt = page.get_by_test_id("prompt-input")
    expect(prompt).to_have_value("@pixel_mascot ")
    prompt.fill("")
    prompt.press_sequentially("@pix")
    option = page.locator('[data-testid="mention-option"][data-username="pixel_mascot"]')
    expect(option).to_be_visible()
    prompt.press("Enter")
    expect(prompt).to_have_value("@pixel_mascot ")
    expect(page.get_by_test_id("mention-list")).to_be_hidden()
    prompt.press_sequentially("waves on a sunny beach")
    page.get_by_test_id("prompt-seconds").select_option("4")
    page.get_by_test_id("prompt-size").select_option("1280x720")
    page.evaluate(
        """() => {
            window.seenStatuses = new Set();
            const record = () => document
                .querySelectorAll('[data-testid="job"][data-kind="video"]')
                .forEach((job) => window.seenStatuses.add(job.dataset.status));
            new MutationObserver(record).observe(
                document.getElementById("jobs"), { childList: true, subtree: true });
        }"""
    )
    page.get_by_test_id("prompt-submit").click()

    job = page.locator('[data-testid="job"][data-kind="video"]')
    expect(job).to_have_count(1)
    expect(job.get_by_test_id("job-progress")).to_be_visible()
    expect(job).to_have_attribute("data-status", "completed")
    expect(job.get_by_test_id("job-progress")).to_have_attribute("value", "100")
    expect(job.get_by_test_id("job-progress-text")).to_have_text("100%")
    seen = set(page.evaluate("() => [...window.seenStatuses]"))
    assert seen & {"queued", "in_progress"} and "completed" in seen, seen
    expect(job.get_by_test_id("consistency")).to_contain_text("@pixel_mascot")
    expect(job.get_by_test_id("consistency")).to_contain_text(re.compile(r"\d+%"))
    page.wait_for_function(
        "() => document.querySelector('[data-testid=job-thumbnail] img')?.naturalWidth > 0"
    )
    listed = page.locator('[data-testid="character-video"][data-status="completed"]')
    expect(listed).to_have_count(1)

    # The player: the MP4 through a blob URL (the content route needs the key), and it plays.
    job.get_by_test_id("job-play").click()
    player = page.get_by_test_id("player")
    expect(player).to_be_visible()
    expect(player.get_by_test_id("consistency")).to_contain_text("@pixel_mascot")
    consistency = player.get_by_test_id("consistency-meter").inner_text()
    assert re.fullmatch(r"\d+%", consistency.strip()), consistency
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=player-video]');"
        " return v.src.startsWith('blob:') && v.readyState >= 2; }"
    )
    page.evaluate(
        "async () => { const v = document.querySelector('[data-testid=player-video]');"
        " v.muted = true; await v.play(); }"
    )
    page.wait_for_function(
        "() => document.querySelector('[data-testid=player-video]').currentTime > 0.25"
    )
    size = page.evaluate(
        "() => { const v = document.querySelector('[data-testid=player-video]');"
        " return [v.videoWidth, v.videoHeight]; }"
    )
    assert size == [1280, 720]
    page.get_by_test_id("player-close").click()
    expect(player).to_be_hidden()

    # A mention of nobody: the banner carries the error's code and message.
    prompt.fill("@nobody_here dances")
    page.get_by_test_id("prompt-submit").click()
    banner = page.get_by_test_id("error-banner").filter(has_text="unknown_character")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("@nobody_here")
    expect(job).to_have_count(1)  # nothing was queued
    watch.assert_clean()


def test_jobs_started_elsewhere_appear_and_settle_without_a_reload(
    browser: Browser, make_server: StartServer, media: MediaServer
) -> None:
    server = make_server()
    watch = PageWatch(browser, server.base_url)
    page = watch.open("/")
    expect(page.get_by_test_id("error-banner").first).to_contain_text("invalid_api_key")
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("api-key").fill(KEY)
    page.get_by_test_id("api-key-save").click()
    expect(page.get_by_test_id("error-banner")).to_have_count(0)
    expect(page.get_by_test_id("jobs-empty")).to_be_visible()
    page.evaluate("() => { window.stillThisPage = true; }")

    # Straight through the API with the same key, as the CLI or another browser would.
    with server.client() as client:
        made = client.post(
            "/v1/characters",
            json={"url": media.url("small.mp4"), "name": "Far Mascot", "async": True},
        )
        assert made.status_code == 202, made.text
        failed = client.post("/v1/characters", json={"url": media.url("silent.mp4"), "async": True})
        assert failed.status_code == 202, failed.text
    task_id, failed_id = made.json()["id"], failed.json()["id"]

    character = page.locator(f'[data-testid="job"][data-job-id="{task_id}"]')
    expect(character).to_have_attribute("data-kind", "character")
    expect(character).to_have_attribute("data-status", "completed")
    expect(character.get_by_test_id("job-progress-text")).to_have_text("100%")
    link = character.get_by_test_id("job-character-link")
    expect(link).to_have_text("@far_mascot")
    expect(character.get_by_test_id("job-title")).to_have_text("Far Mascot (@far_mascot)")
    card = page.locator('[data-testid="character-card"][data-username="far_mascot"]')
    expect(card).to_be_visible()  # the gallery heard of it too
    failure = page.locator(f'[data-testid="job"][data-job-id="{failed_id}"]')
    expect(failure).to_have_attribute("data-status", "failed")
    expect(failure.get_by_test_id("job-error")).to_contain_text("no_audio_track")

    prompt = "@far_mascot juggles in the rain"
    with server.client() as client:
        rendered = client.post("/v1/videos", json={"prompt": prompt, "seconds": "4"})
        assert rendered.status_code == 200, rendered.text
    video = page.locator(f'[data-testid="job"][data-job-id="{rendered.json()["id"]}"]')
    expect(video).to_have_attribute("data-kind", "video")
    expect(video.get_by_test_id("job-title")).to_have_text(prompt)
    expect(video).to_have_attribute("data-status", "completed")
    expect(video.get_by_test_id("job-progress")).to_have_attribute("value", "100")
    expect(video.get_by_test_id("consistency")).to_contain_text("@far_mascot")
    expect(video.get_by_test_id("job-play")).to_be_visible()
    expect(page.get_by_test_id("job")).to_have_count(3)
    assert page.evaluate("() => window.stillThisPage === true")  # no reload on the way

    # The character's link follows in the page; the list stays beside it.
    link.click()
    expect(page).to_have_url(server.base_url + "/characters/far_mascot")
    expect(page.get_by_test_id("character-heading-username")).to_have_text("@far_mascot")
    expect(page.get_by_test_id("job")).to_have_count(3)
    assert page.evaluate("() => window.stillThisPage === true")
    watch.assert_clean()
