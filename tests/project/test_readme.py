"""The README's rule-language reference names every predicate and card-text value the library
accepts, so an analyst reading it is not missing half the language."""
from __future__ import annotations

import re

from cds_service.library.language import ARGUMENTS, TEXT_VALUES
from tests.helpers.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
QUOTED = set(re.findall(r"`([a-z_]+)`", README))
PLACEHOLDERS = set(re.findall(r"`\{([a-z_]+)\}`", README))


def test_every_predicate_is_in_the_readme():
    assert not set(ARGUMENTS) - QUOTED, sorted(set(ARGUMENTS) - QUOTED)


def test_every_card_text_value_is_in_the_readme():
    assert not TEXT_VALUES - PLACEHOLDERS, sorted(TEXT_VALUES - PLACEHOLDERS)
