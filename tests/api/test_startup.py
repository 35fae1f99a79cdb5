"""What a server process loads before it answers: none of the decoders, model runtimes and
array libraries that only jobs and some requests use, so it starts quickly on a busy machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Each of these costs the process start from tens of milliseconds to a second.
# SQLAlchemy's PostgreSQL dialect loads all its drivers: only a PostgreSQL store needs it.
HEAVY = (
    "cv2",
    "onnxruntime",
    "onnx",
    "torch",
    "av",
    "scipy",
    "skimage",
    "numpy",
    "alembic",
    "sqlalchemy.dialects.postgresql",
)
REPORT = f"import json, sys; print(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"


def loaded_after(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running `code`."""
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def test_importing_the_app_loads_nothing_heavy() -> None:
    assert loaded_after("import troupe.api.app") == []


def test_what_importing_the_app_made_is_never_collected_again() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import gc, troupe.api.app; print(gc.get_freeze_count())"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 50_000


def test_commands_let_opencvs_idle_threads_sleep_unless_told_otherwise() -> None:
    # Set before OpenCV loads, which test_the_command_loads_nothing_heavy makes sure of.
    code = "import os, troupe.cli; print(os.environ['OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER'])"
    told = {**os.environ, "OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER": "500"}
    for env, expected in ((None, "0"), (told, "500")):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
        )
        assert result.stdout.strip() == expected, result.stderr


def test_the_command_loads_nothing_heavy() -> None:
    # Each child that `troupe serve --processes N` and the sandbox start runs it again first.
    assert loaded_after("import troupe.cli") == []


def test_a_started_server_has_loaded_only_the_schema_upgrade(tmp_path: Path) -> None:
    """Built and through its start-up with the default role (both job kinds, the animatic back
    end): only Alembic has been needed, to bring the schema to head (its DDL implementations
    load every dialect SQLAlchemy has)."""
    code = f"""
import asyncio
from troupe.api.app import create_app
from troupe.settings import Settings

app = create_app(Settings(data_dir={str(tmp_path / "data")!r}, workers=2))

async def start_and_stop() -> None:
    async with app.router.lifespan_context(app):
        pass

asyncio.run(start_and_stop())
"""
    assert loaded_after(code) == ["alembic", "sqlalchemy.dialects.postgresql"]
