"""What becomes of a character whose screening was uncertain (a `Doubt`): the server's policy
(`TROUPE_LIKENESS_REVIEW`: refuse it, or park it for an operator), a key's attestation, the
refusals' words, and what is stored with a character let through. Pure but for `discard_files`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from troupe.characters.files import CharacterFiles, Doubt
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.store.blobs import BlobStore
from troupe.store.tables import Review

REVIEW_SETTING = "TROUPE_LIKENESS_REVIEW"
REVIEW_POLICIES = ("refuse", "operator")
# A parked task's `waiting_for`.
WAITING_FOR = "review by an operator"
# Where a character let through keeps the frames that raised the doubt (never served publicly).
EVIDENCE_ROLE = "likeness_evidence"

Verdict = Literal["accept", "refuse", "review"]


@dataclass(frozen=True)
class LikenessPolicy:
    """`TROUPE_LIKENESS_REVIEW` and `TROUPE_LIKENESS_REVIEW_HOURS`."""

    review: str = "refuse"  # refuse | operator
    review_hours: float = 72.0


def verdict(doubt: Doubt | None, *, attested: bool, policy: str) -> Verdict:
    """A sure screening, or an attested request, is accepted; an uncertain one is reviewed when
    operators review, else refused. (A real person never gets here: the screening refuses it
    before any doubt exists, attested or not.)"""
    if doubt is None or attested:
        return "accept"
    return "review" if policy == "operator" else "refuse"


def uncertain_refusal(doubt: Doubt) -> TroupeError:
    """The default policy's answer to a doubt."""
    return TroupeError(
        "human_likeness_detected",
        f"the screening was uncertain whether this is a real person ({doubt.reason}), and this "
        f"server refuses what it cannot tell; its operator can have such characters reviewed "
        f"instead ({REVIEW_SETTING}=operator)",
        param="timestamps",
    )


def inline_refusal(doubt: Doubt, policy: str) -> TroupeError:
    """A video's inline character cannot wait days for a person, so a doubt refuses it."""
    if policy == "operator":
        then = (
            "create the character first (POST /v1/characters), which an operator will "
            "review, then mention it in the video"
        )
    else:
        then = (
            "this server refuses what it cannot tell; its operator can have characters made "
            f"with POST /v1/characters reviewed instead ({REVIEW_SETTING}=operator)"
        )
    return TroupeError(
        "human_likeness_detected",
        f"the screening was uncertain whether the inline character is a real person "
        f"({doubt.reason}); a video cannot wait for a review: {then}",
        param="character_url",
    )


def rejection(why: str | None) -> TroupeError:
    reason = f": {why}" if why else ""
    return TroupeError(
        "human_likeness_detected",
        f"an operator reviewed the window and refused it as a real person{reason}",
        param="timestamps",
    )


def expiry(seconds: int) -> TroupeError:
    return TroupeError(
        "human_likeness_detected",
        f"the screening was uncertain whether this is a real person, and no operator reviewed "
        f"it within {period_text(seconds)}; nothing was charged",
        param="timestamps",
    )


def period_text(seconds: int) -> str:
    """`72 hours`, `30 minutes`, `7 seconds`: the largest unit that says it exactly."""
    count, unit = seconds, "second"
    for name, size in (("minute", 60), ("hour", 3600)):
        if seconds >= size and seconds % size == 0:
            count, unit = seconds // size, name
    return f"{count} {unit}" + ("" if count == 1 else "s")


def likeness_record(
    doubt: Doubt, *, attested: bool, reviewed_at: int | None = None
) -> dict[str, Any]:
    """What a character let through despite a doubt keeps, and its answer shows as `likeness`."""
    return {
        "screening": "uncertain",
        "reason": doubt.reason,
        "attested": attested,
        "reviewed_at": reviewed_at,
    }


def waiting_review(
    task_id: str, owner: str, files: CharacterFiles, doubt: Doubt, hours: float
) -> Review:
    """The review row of a task parked for an operator, with what extraction made."""
    created_ns = time.time_ns()
    created = created_ns // 1_000_000_000
    return Review(
        task_id=task_id,
        owner=owner,
        status="waiting",
        reason=doubt.reason,
        evidence=list(doubt.evidence),
        files={
            "window": [files.window.start, files.window.end],
            "quality": files.quality,
            "blobs": files.blobs,
            "title": files.title,
        },
        created_at=created,
        created_ns=created_ns,
        expires_at=created + max(1, round(hours * 3600)),
    )


def reviewed_files(review: Review) -> CharacterFiles:
    """What extraction made for a parked task, as it was when parked."""
    start, end = review.files["window"]
    return CharacterFiles(
        window=Window(float(start), float(end)),
        quality=dict(review.files["quality"]),
        blobs=dict(review.files["blobs"]),
        doubt=Doubt(review.reason, list(review.evidence)),
        title=review.files.get("title"),  # parked before titles were kept: None
    )


def file_keys(files: CharacterFiles) -> list[str]:
    """Every blob key extraction wrote: the character's files and the doubt's frames."""
    keys: list[str] = []
    for value in files.blobs.values():
        keys.extend(value if isinstance(value, list) else [value])
    if files.doubt is not None:
        keys.extend(files.doubt.evidence)
    return [key for key in keys if isinstance(key, str)]


def discard_files(blobs: BlobStore, files: CharacterFiles) -> None:
    """Remove what extraction wrote for a character that will not be: nothing will read it."""
    keys = file_keys(files)
    for key in keys:
        blobs.delete(key)
    for folder in {key.rsplit("/", 1)[0] for key in keys if "/" in key}:
        blobs.delete_folder_if_empty(folder)
