"""The README stands alone: its error table is the server's, and it points at nothing outside."""

from __future__ import annotations

import re
from pathlib import Path

from troupe.errors import ERROR_CODES

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_the_error_table_lists_every_code_with_its_status() -> None:
    rows = re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| (\d{3}) \|", README, re.MULTILINE)
    listed = {code.strip("`"): int(status) for codes, status in rows for code in codes.split(", ")}
    assert listed == {code: status for code, (status, _) in ERROR_CODES.items()}


def test_no_reference_to_a_file_outside_the_repository() -> None:
    assert "SPEC" not in README
    for target in re.findall(r"\]\(([^)#:]+)\)", README):  # relative links
        assert (Path(__file__).parent.parent / target).exists(), target


def test_curl_at_sign_warning() -> None:
    assert "--form-string 'prompt=@" in README
