"""The likeness policy's pure parts: who is let through, refused or reviewed, the refusals' words,
attestation values, and what a parked review keeps of extraction's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from troupe.characters import attestation, doubts
from troupe.characters.files import CharacterFiles, Doubt
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.store.blobs import BlobStore

DOUBT = Doubt("a face drawn too finely to call", ["characters/char_a/doubt_0.jpg"])


@pytest.mark.parametrize(
    ("doubt", "attested", "policy", "expected"),
    [
        (None, False, "refuse", "accept"),
        (None, False, "operator", "accept"),
        (None, True, "refuse", "accept"),
        (DOUBT, False, "refuse", "refuse"),
        (DOUBT, False, "operator", "review"),
        (DOUBT, True, "refuse", "accept"),
        (DOUBT, True, "operator", "accept"),
    ],
)
def test_verdict(doubt: Doubt | None, attested: bool, policy: str, expected: str) -> None:
    assert doubts.verdict(doubt, attested=attested, policy=policy) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), (False, False), ("", False), (True, True), ("true", True), ("False", False)],
)
def test_read_attestation(value: object, expected: bool) -> None:
    assert attestation.read_attestation(value) is expected


@pytest.mark.parametrize("value", ["yes", 1, "1", [True], {"x": 1}])
def test_read_attestation_refuses_other_values(value: object) -> None:
    with pytest.raises(TroupeError) as caught:
        attestation.read_attestation(value)
    assert (caught.value.code, caught.value.param) == ("invalid_request", attestation.ATTEST_FIELD)


def test_the_default_refusal_says_uncertain_why_and_which_setting() -> None:
    error = doubts.uncertain_refusal(DOUBT)
    assert (error.code, error.status, error.param) == ("human_likeness_detected", 422, "timestamps")
    assert "uncertain" in error.message
    assert DOUBT.reason in error.message
    assert "TROUPE_LIKENESS_REVIEW=operator" in error.message


def test_an_inline_refusal_points_to_creating_the_character_first() -> None:
    reviewed = doubts.inline_refusal(DOUBT, "operator")
    refused = doubts.inline_refusal(DOUBT, "refuse")
    for error in (reviewed, refused):
        assert (error.code, error.param) == ("human_likeness_detected", "character_url")
        assert DOUBT.reason in error.message and "cannot wait for a review" in error.message
    assert "POST /v1/characters" in reviewed.message and "operator will review" in reviewed.message
    assert "TROUPE_LIKENESS_REVIEW=operator" in refused.message


def test_rejection_and_expiry_are_the_real_person_refusal() -> None:
    assert doubts.rejection("a photograph").message.endswith(": a photograph")
    assert doubts.rejection(None).code == "human_likeness_detected"
    expired = doubts.expiry(72 * 3600)
    assert expired.code == "human_likeness_detected" and "within 72 hours" in expired.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3600, "1 hour"),
        (72 * 3600, "72 hours"),
        (1800, "30 minutes"),
        (7, "7 seconds"),
        (61, "61 seconds"),
    ],
)
def test_period_text(seconds: int, text: str) -> None:
    assert doubts.period_text(seconds) == text


def test_a_review_keeps_what_extraction_made() -> None:
    files = CharacterFiles(
        window=Window(0.5, 2.25),
        quality={"subject_confidence": 0.8, "warnings": []},
        blobs={"profile": "characters/char_a/profile.jpg", "references": ["r0", "r1"]},
        doubt=DOUBT,
    )
    review = doubts.waiting_review("task_a", "owner_a", files, DOUBT, hours=2)
    assert review.status == "waiting" and review.reason == DOUBT.reason
    assert review.expires_at - review.created_at == 7200
    assert doubts.reviewed_files(review) == files
    record = doubts.likeness_record(DOUBT, attested=True)
    assert record == {
        "screening": "uncertain",
        "reason": DOUBT.reason,
        "attested": True,
        "reviewed_at": None,
    }


def test_discarding_removes_the_files_and_the_doubts_frames(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    keys = {
        role: blobs.put_bytes(f"characters/char_b/{role}.bin", b"x")
        for role in ("profile", "fingerprint", "voice")
    }
    references = [blobs.put_bytes(f"characters/char_b/reference_{i}.png", b"x") for i in range(2)]
    evidence = blobs.put_bytes("characters/char_b/doubt_0.jpg", b"x")
    keep = blobs.put_bytes("characters/char_c/profile.bin", b"x")
    files = CharacterFiles(
        window=Window(0, 2),
        quality={},
        blobs={**keys, "references": references},
        doubt=Doubt("unsure", [evidence]),
    )
    doubts.discard_files(blobs, files)
    assert not (tmp_path / "blobs" / "characters" / "char_b").exists()
    assert blobs.exists(keep)
