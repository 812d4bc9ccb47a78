"""Analytics count per rule (issue #21 item 4), but a card names only its topic: the rule is read
back from the card (library/card_rules.py). Over every fixture scenario, the rule told for each
card is the rule explain mode says fired for that topic; a card no single rule explains is told
as None, never as a guess."""
from __future__ import annotations

from datetime import date

import pytest

from cds_service.core.settings import Settings
from cds_service.library.card_rules import CardRules
from cds_service.library.loader import load_library
from cds_service.workbench.cases import fixture_cases, noon, run_case

SETTINGS = Settings()


@pytest.fixture(scope="module")
def library():
    return load_library(SETTINGS.cards_dir, SETTINGS.canonical_base)


def test_every_fixture_card_is_told_the_rule_that_fired_for_it(library):
    told, today = CardRules(library), date.today()
    shared = 0
    for case in fixture_cases(SETTINGS.fixtures_dir, today):
        run = run_case(library, case, noon(today))
        for card in run.cards:
            topic = card["source"]["topic"]["code"]
            fired = {r["rule"] for r in run.report["rules"] if r["topic"] == topic and r["outcome"] == "fired"}
            assert told.rule_of(case.hook, card) in fired, (case.id, topic, fired)
            shared += len({r.id for r in library.rules if r.topic == topic}) > 1
    assert shared > 20  # the topics several rules share are among them (imaging, red flags, regions)


def test_rules_sharing_a_summary_are_told_apart_by_their_sources(library):
    told = CardRules(library)
    (lumbar,) = [r for r in library.rules if r.id == "ORD-IMG-CT-LUMBAR"]
    (cervical,) = [r for r in library.rules if r.id == "ORD-IMG-CT-CERVICAL"]
    summary = lumbar.variants[0].text.summary
    assert cervical.variants[0].text.summary == summary
    hook = sorted(lumbar.hooks & cervical.hooks)[0]
    for rule in (lumbar, cervical):
        card = {"summary": summary, "source": {"topic": {"code": rule.topic}},
                "links": [{"url": library.presentation.sources[s]["url"]} for s in rule.sources]}
        assert told.rule_of(hook, card) == rule.id


def test_a_card_no_single_rule_explains_is_not_guessed(library):
    told = CardRules(library)
    (rule,) = [r for r in library.rules if r.id == "IMG-3-LUMBAR"]
    hook = sorted(rule.hooks)[0]
    assert told.rule_of(hook, {"summary": "Something else entirely", "source": {"topic": {"code": rule.topic}}}) is None
    (ces,) = [r for r in library.rules if r.id == "CES-1"]
    assert told.rule_of(hook, {"summary": "any words", "source": {"topic": {"code": ces.topic}}}) == "CES-1"  # the topic's one rule
    assert told.rule_of(hook, {"summary": "x", "source": {"topic": {"code": "no-such-topic"}}}) is None
