"""Where the test suite's CPU goes: runs a command (by default `scripts/test`, the README's
second command) and attributes the machine's CPU time to kinds of process, by sampling /proc.

Run: python3 bench/suite_cpu.py [--interval 0.25] [-- COMMAND ...]   (the standard library only)
Prints the command's wall time, the machine's busy core-seconds over it (against wall x cores,
so whether the run was CPU-bound), and core-seconds per kind of process: the pytest workers
(tests that run troupe in-process), `troupe serve` processes (the API and the renders their
worker threads draw), `troupe worker` processes, the media sandbox's fork servers and the
children they fork (character extraction), `troupe` commands, PostgreSQL, Chromium, and the
rest. A process that starts and ends between two samples is missed; the CPU that processes
alive before the run had used is left out.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# The README's test command: set-up and lint, then pytest as CI runs it.
DEFAULT_COMMAND = [str(Path(__file__).resolve().parents[1] / "scripts" / "test")]


def kind_of(command: str, parent_command: str) -> str:
    if "multiprocessing.forkserver" in command:
        return "sandbox child" if "multiprocessing.forkserver" in parent_command else "fork server"
    for marker, kind in (
        ("troupe serve", "troupe serve"),
        ("troupe worker", "troupe worker"),
        ("-m troupe", "troupe command"),
        ("exec(eval(sys.stdin", "pytest worker"),  # how xdist starts its workers
        ("pytest", "pytest"),
        ("postgres", "postgres"),
        ("chrom", "chromium"),
    ):
        if marker in command:
            return kind
    return ("other: " + command.split(" ")[0][-40:]) if command else "other (kernel threads)"


def read_processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) for every process readable now."""
    found: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
    except OSError:
        return ""


def busy_and_total() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("command", nargs="*", help="default: scripts/test")
    args = parser.parse_args()
    command = args.command or DEFAULT_COMMAND
    used = {pid: cpu for pid, (_, cpu) in read_processes().items()}
    commands: dict[int, str] = {}
    by_kind: Counter[str] = Counter()
    busy_before, total_before = busy_and_total()
    began = time.monotonic()
    run = subprocess.Popen(command)
    while run.poll() is None:
        for pid, (parent, cpu) in read_processes().items():
            if pid not in commands:
                commands[pid] = command_line(pid)
            spent = cpu - used.get(pid, 0.0)
            used[pid] = cpu
            if spent > 0:
                by_kind[kind_of(commands[pid], commands.get(parent, ""))] += spent
        time.sleep(args.interval)
    wall = time.monotonic() - began
    busy_after, total_after = busy_and_total()
    busy = busy_after - busy_before
    print(f"command exited {run.returncode} after {wall:.0f} s")
    available = total_after - total_before
    print(f"machine busy {busy:.0f} core-s of {available:.0f} ({busy / available:.0%})")
    for kind, seconds in by_kind.most_common(15):
        print(f"{seconds:8.1f} core-s {seconds / busy:6.1%}  {kind}")


if __name__ == "__main__":
    main()
