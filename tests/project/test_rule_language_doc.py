"""The rule-language reference in docs/analyst.md names every predicate and card-text value the
library accepts, so an analyst reading it is not missing half the language."""
from __future__ import annotations

import re

from cds_service.library.language import ARGUMENTS, TEXT_VALUES
from tests.helpers.paths import ROOT

GUIDE = (ROOT / "docs" / "analyst.md").read_text(encoding="utf-8")
QUOTED = set(re.findall(r"`([a-z_]+)`", GUIDE))
PLACEHOLDERS = set(re.findall(r"`\{([a-z_]+)\}`", GUIDE))


def test_every_predicate_is_in_the_guide():
    assert not set(ARGUMENTS) - QUOTED, sorted(set(ARGUMENTS) - QUOTED)


def test_every_card_text_value_is_in_the_guide():
    assert not TEXT_VALUES - PLACEHOLDERS, sorted(TEXT_VALUES - PLACEHOLDERS)
