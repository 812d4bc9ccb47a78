"""Analytics count per rule (issue #21 item 4): the engine says which rule made each card it
returns. Over every fixture scenario, that is the rule explain mode says fired for the card's
topic, and every card has one."""
from __future__ import annotations

from datetime import date

from cds_service.core.settings import Settings
from cds_service.workbench.cases import fixture_cases, noon, run_case
from tests.helpers.apps import shipped_library

SETTINGS = Settings()


def test_every_card_names_the_rule_that_fired_for_it():
    library, today = shipped_library(), date.today()
    cards = shared = 0
    for case in fixture_cases(SETTINGS.fixtures_dir, today):
        run = run_case(library, case, noon(today))
        assert set(run.advice.card_rules) == {c["uuid"] for c in run.cards}, case.id
        for card in run.cards:
            topic = card["source"]["topic"]["code"]
            fired = {r["rule"] for r in run.report["rules"] if r["topic"] == topic and r["outcome"] == "fired"}
            assert run.advice.card_rules[card["uuid"]] in fired, (case.id, topic, fired)
            cards += 1
            shared += len({r.id for r in library.rules if r.topic == topic}) > 1
    assert cards > 100 and shared > 20  # topics several rules share are among them (imaging, red flags, regions)
