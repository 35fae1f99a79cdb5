"""API hot path: troupe against its own stack's floor, driven by `wrk` in the same run.

Run: .venv/bin/python bench/api.py [--seconds 3] [--connections 8] [--processes 1] [--keep DIR]
Needs `wrk` (Debian: `apt-get install -y wrk`). The floor is a bare FastAPI app reading and
writing one ORM row in SQLite through SQLAlchemy, served by uvicorn as `troupe serve` serves
troupe (sync handlers, access log on). Both servers run side by side and each scenario drives
the floor and then troupe with the same load, so the ratio holds on a busy machine even when
the absolute figures do not.

Scenarios (troupe route / floor route):
  poll video      GET /v1/videos/{id} of a completed video   / GET /rows/{id} (by key)
  poll video 304  the same with If-None-Match of its ETag     / GET /rows/{id}
  poll task       GET /v1/tasks/{id} of a completed character task / GET /rows/{id}
  list chars      GET /v1/characters?limit=20                 / GET /rows?limit=20
  create video    POST /v1/videos (JSON prompt)               / POST /rows
  create char     POST /v1/videos/characters (multipart upload, Prefer: respond-async)
                                                              / POST /uploads (multipart)

Setup: one character is made from a synthetic clip through the API (upload) and one video
rendered through the API; 19 more characters are copies of the first inserted straight into
the bench server's database (real ones would take minutes). Troupe is then restarted with no
worker threads (`TROUPE_WORKERS=0`), no per-owner job limit and no rate limit, so the creates
measure the API and not rendering. `--keep DIR` keeps (and reuses) the setup between runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, File, HTTPException, UploadFile
from sqlalchemy import JSON, Integer, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support import free_port
from troupe.media.synthetic import ClipSpec, make_mascot_clip

API_KEY = "bench-key"
LIST_SIZE = 20


# --- the floor ------------------------------------------------------------------------------


def floor_app(db_path: Path, upload_dir: Path) -> Any:
    """The bare stack: FastAPI, one SQLAlchemy ORM table in SQLite (WAL), sync handlers."""

    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = "rows"
        id: Mapped[str] = mapped_column(String(40), primary_key=True)
        owner: Mapped[str] = mapped_column(String(80), index=True)
        status: Mapped[str] = mapped_column(String(20))
        prompt: Mapped[str] = mapped_column(String(400))
        created_at: Mapped[int] = mapped_column(Integer)
        extra: Mapped[dict[str, Any]] = mapped_column(JSON)

    engine = create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def wal(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")

    Base.metadata.create_all(engine)

    def shown(row: Row) -> dict[str, Any]:
        return {
            "id": row.id,
            "object": "row",
            "owner": row.owner,
            "status": row.status,
            "prompt": row.prompt,
            "created_at": row.created_at,
            **row.extra,
        }

    def insert(session: Session) -> Row:
        row = Row(
            id=f"row_{uuid.uuid4().hex}",
            owner="bench",
            status="completed",
            prompt="a fox runs through the snow",
            created_at=int(time.time()),
            extra={"model": "sora-2", "seconds": "4", "size": "1280x720", "progress": 100},
        )
        session.add(row)
        return row

    with Session(engine) as session, session.begin():
        for _ in range(LIST_SIZE):
            insert(session)

    app = FastAPI()

    @app.get("/rows/{row_id}")
    def read_row(row_id: str) -> dict[str, Any]:
        with Session(engine) as session, session.begin():
            row = session.get(Row, row_id)
            if row is None:
                raise HTTPException(404)
            return shown(row)

    @app.get("/rows")
    def list_rows(limit: int = 20) -> dict[str, Any]:
        with Session(engine) as session, session.begin():
            rows = session.scalars(select(Row).order_by(Row.created_at).limit(limit)).all()
            return {"object": "list", "data": [shown(row) for row in rows]}

    @app.post("/rows")
    def create_row() -> dict[str, Any]:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            row = insert(session)
        return shown(row)

    @app.post("/uploads")
    def upload(video: UploadFile = File()) -> dict[str, Any]:  # noqa: B008
        with (upload_dir / uuid.uuid4().hex).open("wb") as out:
            while chunk := video.file.read(1024 * 1024):
                out.write(chunk)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            row = insert(session)
        return shown(row)

    return app


def serve_floor(port: int, data_dir: Path) -> None:
    import uvicorn

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "uploads").mkdir(exist_ok=True)
    app = floor_app(data_dir / "floor.db", data_dir / "uploads")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")


# --- servers --------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> Server:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code in (200, 404):
                return Server(process, base_url)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{command} did not start:\n{log.read_text()[-3000:]}")


def start_troupe(data_dir: Path, env: dict[str, str], processes: int) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "troupe", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    if processes > 1:
        command += ["--processes", str(processes)]
    base = {"TROUPE_API_KEYS": API_KEY, "TROUPE_RATE_LIMIT_PER_MINUTE": "0"}
    return start(command, {**base, **env}, data_dir.parent / "troupe.log", port)


def start_floor(data_dir: Path) -> Server:
    port = free_port()
    command = [sys.executable, __file__, "floor", "--port", str(port), "--data-dir", str(data_dir)]
    return start(command, {}, data_dir.parent / "floor.log", port)


# --- setup ----------------------------------------------------------------------------------


def make_setup(root: Path) -> dict[str, str]:
    """A completed character (and its task), a completed video and 20 characters to list."""
    marker = root / "setup.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    root.mkdir(parents=True, exist_ok=True)
    clip = root / "clip.mp4"
    make_mascot_clip(clip, ClipSpec(seconds=3, width=640, height=360))
    server = start_troupe(root / "troupe-data", {}, 1)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=600) as client:
            print("setup: making a character and rendering a video through the API ...")
            made = client.post(
                "/v1/videos/characters",
                data={"name": "Bench Star", "timestamps": "0,2", "username": "bench_star"},
                files={"video": ("clip.mp4", clip.read_bytes(), "video/mp4")},
            )
            made.raise_for_status()
            character = made.json()
            video = client.post(
                "/v1/videos", json={"prompt": "@bench_star waves on a beach", "seconds": "4"}
            ).json()
            while video["status"] not in ("completed", "failed"):
                time.sleep(0.5)
                video = client.get(f"/v1/videos/{video['id']}").json()
            assert video["status"] == "completed", video
    finally:
        server.stop()
    copy_characters(root / "troupe-data" / "troupe.db", character["id"], LIST_SIZE - 1)
    setup = {"video_id": video["id"], "task_id": character["task_id"], "clip": str(clip)}
    marker.write_text(json.dumps(setup))
    return setup


def copy_characters(db_path: Path, character_id: str, count: int) -> None:
    """Copies of one character row, straight into the database (not through the API)."""
    with sqlite3.connect(db_path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(characters)")]
        selected = connection.execute("SELECT * FROM characters WHERE id = ?", (character_id,))
        original = dict(zip(columns, selected.fetchone(), strict=True))
        for index in range(count):
            row = {
                **original,
                "id": f"char_bench{index:04d}{uuid.uuid4().hex[:12]}",
                "username": f"bench_copy_{index}",
                "created_ns": original["created_ns"] + index + 1,
            }
            marks = ", ".join("?" for _ in columns)
            connection.execute(
                f"INSERT INTO characters ({', '.join(columns)}) VALUES ({marks})",
                [row[column] for column in columns],
            )


# --- load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    troupe: str  # method and path
    floor: str
    troupe_body: str | None = None  # file holding the body
    troupe_headers: tuple[tuple[str, str], ...] = ()
    floor_body: str | None = None
    floor_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int
    cpu_ms: float = 0.0  # the server's CPU time (all its processes) per request

    def with_cpu(self, seconds: float) -> Figures:
        return dataclasses.replace(self, cpu_ms=1000 * seconds / max(1, self.requests))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children still running (Linux /proc).

    A figure per request that a busy machine slows down far less than it slows throughput."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def lua_script(directory: Path, method: str, body: str | None, headers: dict[str, str]) -> Path:
    lines = [f'wrk.method = "{method}"']
    for name, value in headers.items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if body is not None:
        lines.append(f'local f = io.open("{body}", "rb"); wrk.body = f:read("*a"); f:close()')
    script = directory / f"{uuid.uuid4().hex}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def run_wrk(
    url: str,
    method: str,
    body: str | None,
    headers: dict[str, str],
    seconds: float,
    connections: int,
    directory: Path,
) -> Figures:
    script = lua_script(directory, method, body, headers)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    return Figures(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=latency_ms(output, "50%"),
        p99_ms=latency_ms(output, "99%"),
        non_2xx=int(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output))
        else 0,
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
    )


def latency_ms(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    assert match, output
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def multipart_body(directory: Path, clip: Path) -> tuple[Path, str]:
    boundary = "benchboundary" + uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nBench Upload\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="timestamps"\r\n\r\n0,2\r\n',
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="video"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n',
    ]
    body = "".join(parts).encode() + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    path = directory / "upload.body"
    path.write_bytes(body)
    return path, f"multipart/form-data; boundary={boundary}"


def scenarios(
    setup: dict[str, str], floor_id: str, directory: Path, etag: str | None
) -> list[Scenario]:
    video_body = directory / "video.json"
    video_body.write_text(json.dumps({"prompt": "a fox runs through the snow", "seconds": "4"}))
    upload, upload_type = multipart_body(directory, Path(setup["clip"]))
    json_type = (("Content-Type", "application/json"),)
    found = [
        Scenario("poll video", f"GET /v1/videos/{setup['video_id']}", f"GET /rows/{floor_id}"),
        Scenario("poll task", f"GET /v1/tasks/{setup['task_id']}", f"GET /rows/{floor_id}"),
        Scenario("list chars", f"GET /v1/characters?limit={LIST_SIZE}", "GET /rows?limit=20"),
        Scenario(
            "create video",
            "POST /v1/videos",
            "POST /rows",
            troupe_body=str(video_body),
            troupe_headers=json_type,
        ),
        Scenario(
            "create char",
            "POST /v1/videos/characters",
            "POST /uploads",
            troupe_body=str(upload),
            troupe_headers=(("Content-Type", upload_type), ("Prefer", "respond-async")),
            floor_body=str(upload),
            floor_headers=(("Content-Type", upload_type),),
        ),
    ]
    if etag is not None:
        found.insert(
            1,
            Scenario(
                "poll video 304",
                f"GET /v1/videos/{setup['video_id']}",
                f"GET /rows/{floor_id}",
                troupe_headers=(("If-None-Match", etag),),
            ),
        )
    return found


def start_profile(troupe: Server, directory: Path, name: str) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / name.replace(" ", "_")
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(troupe.process.pid)]
    spy += ["--subprocesses", "--gil", "--rate", "100", "--format", "raw", "-o", f"{stem}.txt"]
    process = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    return process


# Frames under every request (the process and thread entry points), left out of the
# inclusive list so that it shows where the time goes.
PLUMBING = frozenset(
    [
        "Server.run",
        "serve",
        "run",
        "main",
        "Command.main",
        "Command.invoke",
        "Command.__call__",
        "Context.invoke",
        "Group.invoke",
        "<module>",
        "_run_module_as_main",
        "_run_code",
        "Runner.run",
        "BaseEventLoop.run_forever",
        "BaseEventLoop.run_until_complete",
        "BaseEventLoop._run_once",
        "Thread._bootstrap",
        "Thread._bootstrap_inner",
        "Thread.run",
        "WorkerThread.run",
        "Handle._run",
    ]
)


def short_frame(frame: str) -> str:
    """`Session.execute (/…/sqlalchemy/orm/session.py:2351)` as `Session.execute (session.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})"


def finish_profile(spy: subprocess.Popen[bytes], directory: Path, name: str) -> None:
    """Stop py-spy; print the functions seen on most samples (inclusive) and on top (self)."""
    spy.send_signal(2)
    spy.wait(30)
    stem = directory / name.replace(" ", "_")
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in Path(f"{stem}.txt").read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [short_frame(frame) for frame in stack.split(";")[1:]]  # [0]: the process
        if not frames:
            continue
        total += count
        for frame in set(frames):
            if frame.split(" (")[0] not in PLUMBING:
                inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    print(f"  profile of troupe, {name}: {total} samples; top self / inclusive")
    for (frame, count), (iframe, icount) in zip(
        sorted(own.items(), key=lambda item: -item[1])[:12],
        sorted(inclusive.items(), key=lambda item: -item[1])[:12],
        strict=False,
    ):
        print(
            f"  {100 * count / total:5.1f}% {frame[:60]:<60} "
            f"{100 * icount / total:5.1f}% {iframe[:60]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario and server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--processes", type=int, default=1, help="troupe serve --processes")
    parser.add_argument("--keep", type=Path, default=None, help="keep and reuse the setup here")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record troupe with py-spy during its runs: DIR/<scenario>.txt (collapsed stacks) "
        "and .svg (flame graph), plus the top functions printed (py-spy must be installed)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="troupe-bench-api-") as scratch:
        root = args.keep or Path(scratch)
        setup = make_setup(root)
        work = Path(scratch) / "work"
        work.mkdir()
        env = {"TROUPE_WORKERS": "0", "TROUPE_MAX_CONCURRENT_JOBS": "0"}
        troupe = start_troupe(root / "troupe-data", env, args.processes)
        floor = start_floor(Path(scratch) / "floor-data")
        auth = {"Authorization": f"Bearer {API_KEY}"}
        try:
            polled = httpx.get(f"{troupe.base_url}/v1/videos/{setup['video_id']}", headers=auth)
            etag = polled.headers.get("etag")
            floor_id = httpx.get(f"{floor.base_url}/rows?limit=1").json()["data"][0]["id"]
            only = {name.strip() for name in args.only.split(",") if name.strip()}
            print(
                f"wrk: {args.connections} connections, {args.seconds:g} s per scenario and "
                f"server, troupe processes: {args.processes}; load average before: "
                f"{os.getloadavg()[0]:.2f}"
            )
            header = (
                f"{'scenario':<15} {'floor req/s':>11} {'p50':>7} {'p99':>7} | "
                f"{'troupe req/s':>12} {'p50':>7} {'p99':>7} {'non2xx':>6} | "
                f"{'ratio':>5} {'p99 x':>5} | {'CPU ms/req floor':>16} {'troupe':>6} {'x':>5}"
            )
            print(header)
            print("-" * len(header))
            for scenario in scenarios(setup, floor_id, work, etag):
                if only and scenario.name not in only:
                    continue
                figures = []
                for base, target, body, headers in (
                    (floor.base_url, scenario.floor, scenario.floor_body, scenario.floor_headers),
                    (
                        troupe.base_url,
                        scenario.troupe,
                        scenario.troupe_body,
                        (*auth.items(), *scenario.troupe_headers),
                    ),
                ):
                    method, path = target.split(" ", 1)
                    spy = None
                    if args.profile is not None and base == troupe.base_url:
                        spy = start_profile(troupe, args.profile, scenario.name)
                    server = troupe if base == troupe.base_url else floor
                    cpu_before = cpu_seconds(server.process.pid)
                    figures.append(
                        run_wrk(
                            base + path,
                            method,
                            body,
                            dict(headers),
                            args.seconds,
                            args.connections,
                            work,
                        )
                    )
                    figures[-1] = figures[-1].with_cpu(cpu_seconds(server.process.pid) - cpu_before)
                    if spy is not None:
                        finish_profile(spy, args.profile, scenario.name)
                low, ours = figures
                print(
                    f"{scenario.name:<15} {low.rps:>11.0f} {low.p50_ms:>7.1f} {low.p99_ms:>7.1f} | "
                    f"{ours.rps:>12.0f} {ours.p50_ms:>7.1f} {ours.p99_ms:>7.1f} "
                    f"{ours.non_2xx:>6} | {ours.rps / low.rps:>5.2f} "
                    f"{ours.p99_ms / low.p99_ms:>5.2f} | {low.cpu_ms:>16.2f} {ours.cpu_ms:>6.2f} "
                    f"{ours.cpu_ms / max(low.cpu_ms, 1e-9):>5.2f}"
                )
            print(f"load average after: {os.getloadavg()[0]:.2f}  (latencies in ms)")
        finally:
            troupe.stop()
            floor.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        floor_args = argparse.ArgumentParser()
        floor_args.add_argument("floor")
        floor_args.add_argument("--port", type=int, required=True)
        floor_args.add_argument("--data-dir", type=Path, required=True)
        parsed = floor_args.parse_args()
        serve_floor(parsed.port, parsed.data_dir)
        sys.exit(0)
    sys.exit(main())
