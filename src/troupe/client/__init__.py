"""Python clients for a troupe server: `Client` (sync) and `AsyncClient` (asyncio) create
characters and videos, wait for jobs by following `openai-poll-after-ms`, and retry what the
server asks to be retried (408, 429 and 5xx, after `Retry-After`)."""

from troupe.client.asynchronous import AsyncClient
from troupe.client.shared import JobProgress, Progress, RetryPolicy, TroupeAPIError
from troupe.client.sync import Client

__all__ = ["AsyncClient", "Client", "JobProgress", "Progress", "RetryPolicy", "TroupeAPIError"]
