"""Shared setup for the IR text-form and verifier tests: the op registry is filled."""

from __future__ import annotations

from pathlib import Path

import pytest

import xlc.ops  # noqa: F401  (fills the op registry the parser builds through)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA
