"""`GET /metrics`: Prometheus text for operators — requests, job outcomes and durations from
this process, and what the store holds (read from the database at each scrape)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from troupe.jobs import presence
from troupe.store import repo
from troupe.store.db import Database

# Routes are labelled by their template (`/v1/videos/{video_id}`), never the raw path, so a
# client requesting random addresses cannot grow the label set; those are all "unmatched".
UNMATCHED = "unmatched"
JOB_SECONDS_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, 640)


class StoreCollector(Collector):
    """Counts read from the database when Prometheus scrapes: shared by every process."""

    def __init__(self, db: Database, presence_window: float) -> None:
        self.db = db
        self.presence_window = presence_window

    def collect(self) -> Iterator[Metric]:
        with self.db.transaction() as session:
            counts = repo.count_store(session)
        tasks = GaugeMetricFamily(
            "troupe_tasks", "Tasks in the store by kind and status", labels=["kind", "status"]
        )
        for (kind, status), count in sorted(counts.tasks.items()):
            tasks.add_metric([kind, status], count)
        jobs = GaugeMetricFamily(
            "troupe_jobs_pending",
            "Jobs queued or running, by kind and state",
            labels=["kind", "state"],
        )
        for (kind, state), count in sorted(counts.jobs.items()):
            jobs.add_metric([kind, state], count)
        yield tasks
        yield jobs
        yield GaugeMetricFamily(
            "troupe_characters", "Characters not deleted", value=counts.characters
        )
        yield GaugeMetricFamily(
            "troupe_webhook_events_pending",
            "Webhook events neither delivered nor given up",
            value=counts.webhook_events_pending,
        )
        yield from self._workers()

    def _workers(self) -> Iterator[Metric]:
        summary = presence.summarize(presence.live_workers(self.db, self.presence_window))
        yield GaugeMetricFamily(
            "troupe_workers_live", "Worker processes with a recent heartbeat", value=summary.live
        )
        yield GaugeMetricFamily(
            "troupe_worker_jobs_running", "Jobs the live workers run", value=summary.running
        )
        kinds = GaugeMetricFamily(
            "troupe_workers_by_kind", "Live workers that run each job kind", labels=["kind"]
        )
        for kind, count in summary.by_kind.items():
            kinds.add_metric([kind], count)
        yield kinds
        backends = GaugeMetricFamily(
            "troupe_workers_by_backend",
            "Live workers that render with each back end",
            labels=["backend"],
        )
        for backend, count in summary.by_backend.items():
            backends.add_metric([backend], count)
        yield backends


class Metrics:
    """One registry per app, so several servers in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "troupe_http_requests",
            "HTTP requests answered by this process",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "troupe_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
        )
        self.jobs = Histogram(
            "troupe_job_duration_seconds",
            "Jobs run by this process's worker: outcome is `completed` or the error code",
            ["kind", "outcome"],
            buckets=JOB_SECONDS_BUCKETS,
            registry=self.registry,
        )

    def watch_store(self, db: Database, presence_window: float) -> None:
        """Report the store's counts too, once the app has its database, and the workers whose
        heartbeat is at most `presence_window` seconds old."""
        self.registry.register(StoreCollector(db, presence_window))

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        self.jobs.labels(kind, outcome).observe(seconds)

    def exposition(self, accept: str) -> Response:
        """The text format the scraper's Accept header asks for (0.0.4 when it names none)."""
        encode, content_type = choose_encoder(accept)
        return Response(encode(self.registry), headers={"Content-Type": content_type})

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class MetricsMiddleware:
    """Counts and times every HTTP answer, labelled by the route template the router matched.

    Plain ASGI: it reads the status from the answer as it passes, so a request costs two
    label lookups and no extra task or stream (as Starlette's `BaseHTTPMiddleware` would)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it answers

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            # The router writes the matched route into this same scope.
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)
