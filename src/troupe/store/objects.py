"""An S3-compatible object store (AWS S3, MinIO, Ceph, R2, ...) through obstore: the shared home
of blobs when `TROUPE_BLOB_URL=s3://bucket/prefix`, so machines need no shared disk."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_PART_BYTES = 8 * 1024 * 1024
_STREAM_BYTES = 256 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch


class ObjectStore:
    """Whole-object writes and reads by key under one bucket and prefix."""

    def __init__(self, url: str, endpoint: str = "", region: str = "") -> None:
        from obstore.store import S3Store

        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"TROUPE_BLOB_URL must look like s3://bucket/prefix, got {url!r}")
        config: Any = {}  # obstore's S3Config
        if endpoint:
            # A self-hosted store: path-style addresses, and plain HTTP if that is what it says.
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False
        if region:
            config["region"] = region
        client: Any = {"allow_http": True} if endpoint.startswith("http://") else {}
        # Credentials and anything not given here come from the usual AWS_* environment.
        self._store = S3Store(
            parsed.netloc,
            prefix=parsed.path.strip("/") or None,
            config=config,
            client_options=client,
        )
        self.url = url

    def put_file(self, key: str, source: Path) -> None:
        import obstore

        obstore.put(self._store, key, source, chunk_size=_PART_BYTES)

    def get_to_file(self, key: str, dest: Path) -> None:
        """Write the object to `dest`; FileNotFoundError when there is none."""
        import obstore

        result = obstore.get(self._store, key)
        with dest.open("wb") as out:
            for chunk in result.stream(min_chunk_size=_PART_BYTES):
                out.write(chunk)

    def stream(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) of the object, in chunks as they arrive."""
        import obstore

        result = obstore.get(self._store, key, options={"range": (start, end)})
        for chunk in result.stream(min_chunk_size=_STREAM_BYTES):
            yield bytes(chunk)

    def head(self, key: str) -> ObjectInfo | None:
        import obstore

        try:
            meta = obstore.head(self._store, key)
        except FileNotFoundError:
            return None
        return ObjectInfo(key, int(meta["size"]), meta["last_modified"].timestamp())

    def delete(self, key: str) -> None:
        import obstore

        obstore.delete(self._store, key)  # deleting what is not there is not an error

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        import obstore

        for batch in obstore.list(self._store, prefix=prefix):
            for meta in batch:
                yield ObjectInfo(
                    str(meta["path"]), int(meta["size"]), meta["last_modified"].timestamp()
                )

    def signed_url(self, key: str, seconds: int) -> str:
        """A URL that reads the object without credentials for `seconds` (Range included)."""
        import obstore

        return str(obstore.sign(self._store, "GET", key, datetime.timedelta(seconds=seconds)))
