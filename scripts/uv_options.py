"""Print pip's configured package sources as uv options, one per line, so that `uv pip install`
installs from the same indexes, links and constraints as `pip install` would on this machine."""

from __future__ import annotations

import shlex
import subprocess
import sys

# pip's option -> uv's; pip merges candidates from every index, hence uv's best-match strategy.
OPTIONS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
}


def main() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout
    seen: set[tuple[str, str]] = set()
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        option = OPTIONS.get(name.rpartition(".")[2])
        for item in " ".join(shlex.split(value)).split() if option else []:
            if (option, item) not in seen:
                seen.add((option, item))
                print(option, item, sep="\n")
    print("--index-strategy", "unsafe-best-match", sep="\n")


if __name__ == "__main__":
    main()
