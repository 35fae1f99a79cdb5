"""The page's Reviews panel in a real Chromium: an owner sees its task wait for a review and no
panel; an operator's key shows the panel, the frames that raised the doubt, and decides."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.api.test_reviews import (
    REVIEW_ENV,
    WAITING,
    start_uncertain_task,
    stored_key,
    uncertain_url,  # noqa: F401  (the fixture)
    wait_until_waiting,
)
from tests.conftest import StartServer
from tests.support import wait_for_task
from tests.web.browsing import KEY, PageWatch


def use_key(page: Page, key: str) -> None:
    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("api-key-save").click()


def test_an_operator_approves_in_the_page(
    browser: Browser,
    make_server: StartServer,
    uncertain_url: str,  # noqa: F811
) -> None:
    server = make_server(REVIEW_ENV)
    operator_key = stored_key(server, "ops", "--operator")
    with server.client() as owner:
        task_id = start_uncertain_task(owner, uncertain_url, username="paneled")
        wait_until_waiting(owner, task_id)

    watch = PageWatch(browser, server.base_url)
    page = watch.open("/")
    expect(page.get_by_test_id("error-banner").first).to_contain_text("invalid_api_key")
    page.wait_for_load_state("networkidle")
    use_key(page, KEY)
    job = page.locator(f'[data-testid="job"][data-job-id="{task_id}"]')
    expect(job).to_have_attribute("data-status", "queued")
    expect(job.get_by_test_id("job-waiting")).to_have_text(f"Waiting for {WAITING}.")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("review-panel")).to_be_hidden()  # the owner cannot decide
    expect(page.get_by_test_id("error-banner")).to_have_count(0)

    use_key(page, operator_key)
    panel = page.get_by_test_id("review-panel")
    expect(panel).to_be_visible()
    review = panel.locator(f'[data-testid="review"][data-task-id="{task_id}"]')
    expect(review).to_contain_text("@paneled")
    expect(review.get_by_test_id("review-reason")).not_to_have_text("")
    frames = review.get_by_test_id("review-frame")
    expect(frames.first).to_have_attribute("data-loaded", "true")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="review-frame"]')]
            .every((image) => image.naturalWidth > 0)"""
    )
    review.get_by_test_id("review-why").fill("a drawn face")
    review.get_by_test_id("review-approve").click()
    expect(page.get_by_test_id("notice").first).to_contain_text("approved")
    expect(panel.get_by_test_id("reviews-empty")).to_be_visible()
    expect(panel.get_by_test_id("review")).to_have_count(0)

    with server.client() as owner:
        task = wait_for_task(owner, task_id)
    assert task["status"] == "completed", task
    assert task["result"]["username"] == "paneled"
    assert task["result"]["likeness"]["reviewed_at"]
    with server.client(operator_key) as operator:
        decided = operator.get(f"/v1/reviews/{task_id}").json()
    assert (decided["status"], decided["why"]) == ("approved", "a drawn face")
    assert decided["decided_by"].startswith("ops (key_")
    watch.assert_clean()
