"""The README is the newcomer's page (issue #21): what it is, the two commands with how long they
take, the fast subset beside the full suite, try it, and where to read next; the reference
material lives in docs/, so the README stays short and links every guide there."""
from __future__ import annotations

import re

from tests.helpers.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_it_is_short_and_has_the_newcomers_sections():
    assert len(README.splitlines()) < 120
    assert re.findall(r"^## (.+)$", README, re.M) == ["Two commands", "Try it", "Where to read next"]


def test_it_names_the_fast_subset_beside_the_full_suite_with_their_times():
    commands = README.split("## Two commands", 1)[1].split("## Try it", 1)[0]
    assert ".venv/bin/python -m pytest -q -m fast" in commands and ".venv/bin/python -m pytest -q" in commands
    assert re.search(r"whole suite .*\d+ minutes", commands, re.S) and re.search(r"fast subset.*\d+ s measured", commands, re.S)


def test_it_links_every_guide_in_docs():
    guides = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert guides - set(re.findall(r"\(docs/([a-z-]+\.md)\)", README)) == set()


def test_the_reference_tables_are_in_docs_not_here():
    assert "| variable |" not in README and "| card (`source.topic.code`) |" not in README
    assert "| predicate | argument | holds when |" not in README
