"""The fast subset (`pytest -m fast`) the README names beside the full suite: every file it lists
exists, and it holds tests of every package of cds_service, so a quick run still touches each."""
from __future__ import annotations

from tests.conftest import FAST
from tests.helpers.paths import ROOT


def test_every_listed_file_exists():
    assert [f for f in sorted(FAST) if not (ROOT / "tests" / f).is_file()] == []


def test_it_touches_every_package():
    packages = {p.name for p in (ROOT / "cds_service").iterdir() if (p / "__init__.py").exists()}
    assert packages - {f.split("/")[0] for f in FAST} == set()


def test_the_marker_is_registered_and_the_readme_names_it():
    assert "fast:" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "pytest -q -m fast" in (ROOT / "README.md").read_text(encoding="utf-8")
