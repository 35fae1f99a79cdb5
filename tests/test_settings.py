"""Settings come from `TROUPE_*` variables; arguments given in code win over them."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from troupe.settings import Settings


def test_variables_name_fields_in_any_case_and_lists_split_on_commas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TROUPE_API_KEYS", " sk-a, sk-b ,")
    monkeypatch.setenv("troupe_workers", "3")
    monkeypatch.setenv("TROUPE_REQUIRE_AUDIO", "false")
    monkeypatch.setenv("TROUPE_NOT_A_SETTING", "ignored")
    monkeypatch.setenv("WORKERS", "9")  # no prefix: not ours
    settings = Settings()
    assert settings.api_keys == ["sk-a", "sk-b"]
    assert settings.workers == 3
    assert settings.require_audio is False


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROUPE_DATA_DIR", "/from/env")
    monkeypatch.setenv("TROUPE_WORKERS", "3")
    settings = Settings(data_dir=Path("/from/code"))
    assert settings.data_dir == Path("/from/code")
    assert settings.workers == 3


def test_a_bad_value_names_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROUPE_LIKENESS_REVIEW", "sometimes")
    with pytest.raises(pydantic.ValidationError, match="likeness_review"):
        Settings()
