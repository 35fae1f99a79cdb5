"""The error family's helpers, as pure functions."""

from __future__ import annotations

import pickle

import pytest

from troupe.errors import TroupeError, format_apart


@pytest.mark.parametrize(
    ("value", "limit", "kwargs", "shown"),
    [
        (0.3, 0.5, {}, ("0.30", "0.50")),
        (0.4996, 0.5, {}, ("0.4996", "0.5000")),
        (0.49999999, 0.5, {}, ("0.49999999", "0.50000000")),
        (0.0496, 0.05, {}, ("0.0496", "0.0500")),
        (0.5, 0.5, {}, ("0.50", "0.50")),
        (0.00498, 0.005, {"percent": True}, ("0.498%", "0.500%")),
        (0.004, 0.005, {"percent": True}, ("0.40%", "0.50%")),
        (14.96, 15.0, {"decimals": 0}, ("14.96", "15.00")),
        # Past twelve decimals, in full.
        (0.5 - 1e-16, 0.5, {}, ("0.4999999999999999", "0.5")),
    ],
)
def test_format_apart_shows_the_difference(
    value: float, limit: float, kwargs: dict, shown: tuple[str, str]
) -> None:
    assert format_apart(value, limit, **kwargs) == shown


def test_an_error_survives_pickling_whole() -> None:
    error = TroupeError("rate_limit_exceeded", "slow down", param="x", headers={"Retry-After": "3"})
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message, copy.param, copy.headers, str(copy)) == (
        "rate_limit_exceeded",
        "slow down",
        "x",
        {"Retry-After": "3"},
        "slow down",
    )
