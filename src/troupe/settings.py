"""All of troupe's configuration: one object, read from `TROUPE_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every knob of the server; the README's configuration table mirrors these fields."""

    model_config = SettingsConfigDict(env_prefix="TROUPE_", extra="ignore")

    data_dir: Path = Path("./troupe-data")
    database_url: str = ""  # empty: SQLite file inside data_dir
    public_url: str = ""  # empty: derived from each request's Host

    api_keys: CommaList = []
    allowed_hosts: CommaList = []
    require_audio: bool = True

    # Source limits (SPEC section 3 and the seeds).
    max_source_seconds: float = 15.0
    max_download_bytes: int = 200 * 1024 * 1024
    max_upload_bytes: int = 200 * 1024 * 1024
    fetch_timeout_seconds: float = 30.0
    fetch_max_redirects: int = 5
    max_frame_pixels: int = 3840 * 2160

    # Jobs.
    workers: int = 2
    job_lease_seconds: float = 30.0
    job_max_attempts: int = 3
    sync_wait_seconds: float = 300.0
    poll_after_ms: int = 1000

    @field_validator("api_keys", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'troupe.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_embedded_database(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
