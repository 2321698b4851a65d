"""Shared fixtures: the real files of ../shared/data, an in-process stack on moto's mock for
integration tests, and the local runtime over HTTP for end-to-end tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the real test files are not here: {SHARED_DATA} is absent (it comes with the handed material)")
    return SHARED_DATA
