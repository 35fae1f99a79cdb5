"""All of troupe's configuration: one object, read from `TROUPE_*` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "TROUPE_"
# Lists are written `a,b,c` in the environment.
CommaList = list[str]


class Settings(BaseModel):
    """Every knob of the server; the README's configuration table mirrors these fields.

    A field `name` is read from `TROUPE_NAME` (any case); arguments win over the environment.
    """

    model_config = ConfigDict(extra="ignore")

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**environment_values(type(self).model_fields), **values})

    data_dir: Path = Path("./troupe-data")
    database_url: str = ""  # empty: SQLite file inside data_dir
    public_url: str = ""  # empty: derived from each request's Host

    api_keys: CommaList = []
    allowed_hosts: CommaList = []
    # Origins (`https://app.example`) of web pages of other sites allowed to call the API; a
    # browser's write from any other site is refused.
    cors_origins: CommaList = []
    require_audio: bool = True

    # Source limits (SPEC section 3 and the seeds).
    max_source_seconds: float = 15.0
    max_download_bytes: int = 200 * 1024 * 1024
    max_upload_bytes: int = 200 * 1024 * 1024
    fetch_timeout_seconds: float = 30.0
    fetch_max_redirects: int = 5
    max_frame_pixels: int = 3840 * 2160

    # Blobs: a local folder in data_dir, or an S3-compatible store shared by every machine
    # (`s3://bucket/prefix`; credentials from the usual AWS_* variables), the `s3` extra.
    blob_url: str = ""
    blob_endpoint: str = ""  # e.g. http://minio:9000 for a self-hosted store; empty: AWS
    blob_region: str = ""
    # >0: content answers redirect to a URL signed for this many seconds, read from the store.
    blob_presign_seconds: int = 0

    # Jobs. `workers` threads run jobs in each process (0: this server answers the API only);
    # a worker may be limited to some job kinds and some back ends (empty: all).
    workers: int = 2
    worker_kinds: CommaList = []
    worker_backends: CommaList = []
    # Threads, besides `workers`, that take only character jobs in a process that runs both
    # characters and renders: a character (seconds) never waits for renders (minutes) to end.
    character_workers: Annotated[int, Field(ge=0)] = 1
    job_lease_seconds: float = 30.0
    job_max_attempts: int = 3
    # On SIGTERM running jobs get this long to finish; the rest go back to the queue.
    job_shutdown_grace_seconds: float = 10.0
    sync_wait_seconds: float = 300.0
    poll_after_ms: int = 1000

    # Videos.
    # `model=backend` pairs; a model not listed here is refused. Back ends: animatic, wan-vace.
    model_backends: CommaList = ["sora-2=animatic", "sora-2-pro=animatic"]
    default_model: str = "sora-2"
    # `alias=model` pairs: names the seeds' clients send for a model served here.
    model_aliases: CommaList = ["sora-2.0-turbo=sora-2", "sora-2-vip=sora-2"]
    max_prompt_chars: int = 4000
    max_characters_per_video: int = 8
    # The animatic's characters act: their own motion looped where they stand or sit, their
    # limbs bent in walks, waves and dances. Off, each moves as one piece: renders take 0.8-0.9
    # times as long (bench/render.py), each frozen in one pose.
    animatic_acting: bool = True
    video_retention_seconds: int = 7 * 24 * 3600  # then the files are removed: `expired`

    # The wan-vace back end (the `wan` extra): a local diffusers-format Wan2.1-VACE folder,
    # never downloaded; where it runs; what one call of it makes (the model's native format).
    wan_vace_model: Path | None = None
    wan_vace_device: str = "auto"  # auto: the GPU when torch sees one, else the CPU
    wan_vace_dtype: str = "auto"  # auto: bfloat16 on a GPU, float32 on the CPU
    wan_vace_offload: str = "none"  # none | model | sequential (less GPU memory, slower)
    # auto: the size the model folder declares (troupe.json; the tiny model's), else 480p
    wan_vace_resolution: str = "auto"  # auto | 480p | 720p | WxH (multiples of 16)
    wan_vace_frames: int = 81  # per call, 4k + 1
    wan_vace_fps: int = 16
    wan_vace_steps: int = 30
    wan_vace_guidance: float = 5.0
    wan_vace_conditioning_scale: float = 1.0

    # A character the human screening is uncertain about: `refuse` it, or park its task for an
    # `operator` to approve or reject (`troupe review`), failed and refunded when nobody has
    # within this many hours. A key created `--may-attest` may vouch for it instead.
    likeness_review: Literal["refuse", "operator"] = "refuse"
    likeness_review_hours: Annotated[float, Field(gt=0)] = 72.0

    # Limits per key (0 turns a limit off).
    rate_limit_per_minute: int = 600
    max_concurrent_jobs: int = 8  # queued or running jobs of one owner

    # Prices in US dollars: a character creation, and a second of video per model.
    price_character: float = 0.01
    price_per_second: CommaList = ["sora-2=0.10", "sora-2-pro=0.30"]

    # Untrusted media is decoded in a child process under these limits.
    decode_memory_bytes: int = 3 * 1024**3
    decode_cpu_seconds: int = 120
    decode_wall_seconds: float = 180.0

    # Webhooks: job events are POSTed here, signed as Standard Webhooks (`whsec_...` secret).
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_max_attempts: int = 8

    @field_validator(
        "api_keys",
        "allowed_hosts",
        "cors_origins",
        "model_backends",
        "model_aliases",
        "worker_kinds",
        "worker_backends",
        "price_per_second",
        mode="before",
    )
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
    def backend_by_model(self) -> dict[str, str]:
        pairs = (entry.split("=", 1) for entry in self.model_backends if "=" in entry)
        return {model.strip(): backend.strip() for model, backend in pairs}

    @property
    def model_by_alias(self) -> dict[str, str]:
        pairs = (entry.split("=", 1) for entry in self.model_aliases if "=" in entry)
        return {alias.strip(): model.strip() for alias, model in pairs}

    @property
    def price_per_second_by_model(self) -> dict[str, float]:
        pairs = (entry.split("=", 1) for entry in self.price_per_second if "=" in entry)
        return {model.strip(): float(price) for model, price in pairs}

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_embedded_database(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def environment_values(fields: dict[str, Any]) -> dict[str, str]:
    """The `TROUPE_*` variables that name one of `fields`, by field name."""
    named = (
        (variable[len(ENV_PREFIX) :].lower(), value)
        for variable, value in os.environ.items()
        if variable.upper().startswith(ENV_PREFIX)
    )
    return {name: value for name, value in named if name in fields}
