"""The package type-checks: mypy, with the [tool.mypy] settings in pyproject.toml, finds nothing."""
from __future__ import annotations

import pytest
from mypy import api

from tests.helpers.paths import ROOT


def test_mypy_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # so mypy reads pyproject.toml and finds cds_service
    stdout, stderr, status = api.run(["cds_service"])
    assert status == 0, stdout + stderr
