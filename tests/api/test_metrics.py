"""`GET /metrics`: Prometheus text with request counts by route template, job outcomes and
durations, and the store's counts."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import StartServer
from tests.support import MediaServer


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_jobs_and_the_store(
    make_server: StartServer, media: MediaServer
) -> None:
    server = make_server()
    with server.client() as client:
        made = client.post("/v1/characters", json={"url": media.url("small.mp4")})
        assert made.status_code == 200, made.text
        failed = client.post("/v1/characters", json={"url": media.url("silent.mp4")})
        assert failed.json()["error"]["code"] == "no_audio_track"
        for name in ("nobody_1", "nobody_2"):
            assert client.get(f"/v1/characters/{name}").status_code == 404
        assert client.get("/no/such/place").status_code == 404
        response = client.get("/metrics")
    # No key needed, like /healthz.
    assert httpx.get(f"{server.base_url}/metrics").status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    openmetrics = httpx.get(
        f"{server.base_url}/metrics", headers={"Accept": "application/openmetrics-text"}
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    scraped = samples(response.text)

    requests = "troupe_http_requests_total"
    created = value(scraped, requests, method="POST", route="/v1/characters", status="200")
    assert created == 1
    # The route's template labels the request, never the address asked for.
    refs = value(
        scraped, requests, method="GET", route="/v1/characters/{character_ref}", status="404"
    )
    assert refs == 2
    assert value(scraped, requests, method="GET", route="unmatched", status="404") == 1
    assert not any("nobody_1" in str(labels) for _, labels in scraped)
    latency = "troupe_http_request_duration_seconds_count"
    assert value(scraped, latency, method="GET", route="/v1/characters/{character_ref}") == 2

    jobs = "troupe_job_duration_seconds_count"
    assert value(scraped, jobs, kind="character", outcome="completed") == 1
    assert value(scraped, jobs, kind="character", outcome="no_audio_track") == 1
    assert (
        value(scraped, "troupe_job_duration_seconds_sum", kind="character", outcome="completed") > 0
    )

    assert value(scraped, "troupe_tasks", kind="character", status="completed") == 1
    assert value(scraped, "troupe_tasks", kind="character", status="failed") == 1
    assert value(scraped, "troupe_characters") == 1
    assert value(scraped, "troupe_webhook_events_pending") == 0


def test_metrics_are_apart_per_server(make_server: StartServer) -> None:
    """Two servers in one test session each count only their own requests."""
    first, second = make_server(name="one"), make_server(name="two")
    with first.client() as client:
        client.get("/v1/characters")
    with second.client() as client:
        scraped = samples(client.get("/metrics").text)
    assert (
        value(
            scraped,
            "troupe_http_requests_total",
            method="GET",
            route="/v1/characters",
            status="200",
        )
        == 0
    )
