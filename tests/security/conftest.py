"""Security fixtures: an API on SQLite only, for checks that do not depend on the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _db
from tests.support.client import Api


@pytest.fixture
def sqlite_api(_template_dir: Path, tmp_path: Path) -> Iterator[Api]:
    for url, world in _db("sqlite", _template_dir):
        client = Api.start(url, world, tmp_path)
        yield client
        client.close()
