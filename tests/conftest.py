"""Shared fixtures of the zfb test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = ROOT.parent / "shared" / "data" / "real"
SAMPLE = ROOT / "data" / "sample"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id_number(region: str, birth: str, seq: str) -> str:
    """Build a synthetic 18-character ID number with a correct check character.

    The number belongs to nobody: tests build it from its parts, so no real
    number ever appears in the repository.
    """
    body = region + birth + seq
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


@pytest.fixture
def secret(monkeypatch):
    """A pseudonym key set through ZFB_SECRET, and no configuration file."""
    key = "test-key-0123456789abcdef"
    monkeypatch.setenv("ZFB_SECRET", key)
    monkeypatch.setenv("ZFB_CONFIG", "/nonexistent/zfb-config.toml")
    return key


@pytest.fixture
def real_data():
    """The folder of real public data, or skip when it is absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip(f"real public data not found at {SHARED_REAL} (../shared)")
    return SHARED_REAL
