"""The finding-test helpers' own guarantees: the real library loads, fallback limits are labelled
design choices, red flags are grouped."""
from __future__ import annotations

import yaml

from tests.helpers.findings import library
from tests.helpers.paths import CARDS


def test_real_library_loads_and_names_every_value_set_it_uses():
    defs, terminology = library()
    used = {vs for f in defs.findings.values() for c in f.criteria for vs in c.codes | c.site | c.not_site}
    assert used <= set(terminology.valuesets)
    assert {"saddle-sensory-loss", "fasciculation", "weakness-objective", "lower-limb-symptoms"} <= defs.names()
    assert set(defs.labs) == {"potassium", "magnesium", "calcium", "calcium-ionised", "albumin"}


def test_fallback_limits_are_marked_design_choices_in_the_yaml():

    data = yaml.safe_load((CARDS / "findings.yaml").read_text())
    for lab in ("potassium", "magnesium"):
        assert data["labs"][lab]["fallback_low"]["design_choice"] is True
    assert "repeated_positive_min_days" not in data["progression"], "a repeat is not progression (§5.1)"


def test_categories_group_the_red_flags():
    defs, _ = library()
    assert {"urinary-retention", "faecal-incontinence", "saddle-sensory-loss", "sexual-dysfunction",
            "cauda-equina-syndrome"} <= defs.in_category("red-flag")
    assert "fasciculation" not in defs.in_category("mnd-feature")
