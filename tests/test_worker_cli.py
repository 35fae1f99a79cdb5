"""`troupe worker`'s settings: the command line over the environment an API server shares."""

from __future__ import annotations

import pytest

from troupe.cli.worker import worker_settings
from troupe.runtime import plan_role


def test_a_worker_runs_threads_where_the_shared_environment_says_0_for_api_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TROUPE_WORKERS", "0")
    monkeypatch.setenv("TROUPE_MODEL_BACKENDS", "sora-2=animatic,sora-2-pro=wan-vace")
    settings = worker_settings("video", "wan-vace", None, None)
    assert settings.workers == 2
    assert plan_role(settings).kinds == ("video",)
    assert plan_role(settings).backends == ("wan-vace",)
    assert worker_settings(None, None, 3, None).workers == 3
    assert plan_role(worker_settings(None, None, None, None)).backends == ("animatic", "wan-vace")


def test_a_role_naming_what_no_model_routes_to_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TROUPE_MODEL_BACKENDS", "sora-2=animatic")
    with pytest.raises(ValueError, match="no model routes to"):
        plan_role(worker_settings(None, "wan-vace", None, None))
    with pytest.raises(ValueError, match="unknown job kinds"):
        plan_role(worker_settings("audio", None, None, None))
