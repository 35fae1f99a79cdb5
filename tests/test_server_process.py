"""The test harness's own server start: a port taken between choosing and binding it."""

from __future__ import annotations

from pathlib import Path

from tests.support import ServerProcess


def test_a_server_whose_port_another_troupe_holds_starts_on_another(
    server: ServerProcess, tmp_path: Path
) -> None:
    # As when another test's server took the port that free_port chose: the other answers
    # /healthz there, so an answer alone would not prove that this one started.
    second = ServerProcess(data_dir=tmp_path / "data", port=server.port)
    try:
        second.start()
        assert second.port != server.port
        assert second.process is not None and second.process.poll() is None
        assert "address already in use" in second.log_path.read_text()
    finally:
        second.stop()
