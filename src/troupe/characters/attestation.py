"""A request's attestation: the field by which a key with the right vouches that its subject is
an original character (`doubts` decides what that lets through). Apart from `doubts`, so that
reading requests (the CLI's and the API's intake) needs no database tables."""

from __future__ import annotations

from troupe.errors import TroupeError

# The request field by which a key with the right vouches for its subject.
ATTEST_FIELD = "attest_original_character"


def read_attestation(value: object) -> bool:
    """`attest_original_character`: a JSON boolean, or `true`/`false` in a form."""
    if value is None or value is False or value == "":
        return False
    if value is True:
        return True
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TroupeError(
        "invalid_request", f"{ATTEST_FIELD} must be true or false, got {value!r}", ATTEST_FIELD
    )


def attestation_not_allowed() -> TroupeError:
    return TroupeError(
        "invalid_request",
        f"this API key may not attest; {ATTEST_FIELD} needs a key created with "
        "`troupe keys create --may-attest`",
        param=ATTEST_FIELD,
    )
