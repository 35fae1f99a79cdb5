"""The one error family of troupe: every failure is a value with a stable code.

The API layer turns a `TroupeError` into OpenAI's error JSON; jobs store its code and
message on the failed task. Codes and HTTP statuses are the README's error table.
"""

from __future__ import annotations

# code -> (HTTP status, OpenAI-style error type)
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "invalid_request_error"),
    "invalid_timestamps": (400, "invalid_request_error"),
    "video_too_long": (400, "invalid_request_error"),
    "unsupported_media": (400, "invalid_request_error"),
    "no_audio_track": (400, "invalid_request_error"),
    "file_too_large": (413, "invalid_request_error"),
    "unsupported_media_type": (415, "invalid_request_error"),
    "url_not_allowed": (400, "invalid_request_error"),
    "download_failed": (502, "api_error"),
    "human_likeness_detected": (422, "invalid_request_error"),
    "no_subject_found": (422, "invalid_request_error"),
    "low_quality_segment": (422, "invalid_request_error"),
    "unknown_character": (400, "invalid_request_error"),
    "username_taken": (409, "invalid_request_error"),
    "task_not_found": (404, "invalid_request_error"),
    "video_not_found": (404, "invalid_request_error"),
    "character_not_found": (404, "invalid_request_error"),
    "task_not_completed": (409, "invalid_request_error"),
    "idempotency_conflict": (409, "invalid_request_error"),
    "range_not_satisfiable": (416, "invalid_request_error"),
    "invalid_api_key": (401, "authentication_error"),
    "origin_not_allowed": (403, "permission_error"),
    "rate_limit_exceeded": (429, "rate_limit_error"),
    "quota_exceeded": (402, "insufficient_quota"),
    "internal_error": (500, "api_error"),
}


class TroupeError(Exception):
    """A failure the client can act on: a SPEC error code, a message, and the field at fault."""

    def __init__(
        self,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}  # sent with the answer, e.g. Retry-After

    def __reduce__(self) -> tuple[type[TroupeError], tuple[str, str, str | None, dict[str, str]]]:
        # Exceptions pickle their `args` alone, and this one's are not its constructor's.
        return (type(self), (self.code, self.message, self.param, self.headers))

    @property
    def status(self) -> int:
        return ERROR_CODES[self.code][0]

    @property
    def type(self) -> str:
        return ERROR_CODES[self.code][1]

    def to_body(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return f"TroupeError({self.code!r}, {self.message!r}, param={self.param!r})"


# Past this many decimals two floats that still read alike are shown in full (repr).
MAX_DECIMALS = 12


def format_apart(
    value: float, limit: float, decimals: int = 2, *, percent: bool = False
) -> tuple[str, str]:
    """`value` and the `limit` it failed, as text with `decimals` decimals, or with as many more
    as it takes to tell them apart, so a message never reads "confidence 0.50, needs 0.50":
    `format_apart(0.4996, 0.5)` is `("0.4996", "0.5000")`. `percent` writes both as percentages."""
    kind = "%" if percent else "f"
    for places in range(decimals, MAX_DECIMALS + 1):
        shown = format(value, f".{places}{kind}"), format(limit, f".{places}{kind}")
        if shown[0] != shown[1] or value == limit:
            return shown
    scale, unit = (100, "%") if percent else (1, "")
    return f"{value * scale!r}{unit}", f"{limit * scale!r}{unit}"
