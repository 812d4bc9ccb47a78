"""Compiled `when` trees (engine/when.py) decide exactly as the walk explain mode uses: the same
cards for every fixture scenario, and the same answer for every tree of every rule."""
from __future__ import annotations

from datetime import date

import pytest

from cds_service.core.settings import Settings
from cds_service.data.record import build_record
from cds_service.data.scenarios import list_scenarios
from cds_service.engine.advise import advise
from cds_service.engine.findings import find
from cds_service.engine.predicates import Context
from cds_service.engine.when import compiled, evaluate
from cds_service.workbench.cases import fixture_case, noon, service_for
from tests.helpers.apps import shipped_library

FIXTURES = Settings().fixtures_dir
TODAY = date.today()


def _trees(rule):
    yield rule.when
    yield from (when for when, _ in rule.escalate)
    yield from (variant.when for variant in rule.variants)


@pytest.mark.parametrize("scenario_id", list_scenarios(FIXTURES))
def test_compiled_trees_and_the_walk_agree_on_every_scenario(scenario_id):
    library = shipped_library()
    case = fixture_case(FIXTURES, scenario_id, TODAY)
    service = service_for(library, case.hook)
    quick = advise(library, service, case.context, case.data, noon(TODAY))
    walked = advise(library, service, case.context, case.data, noon(TODAY), explain=True)
    assert [(c["summary"], c["indicator"], c["detail"]) for c in quick.cards] == \
           [(c["summary"], c["indicator"], c["detail"]) for c in walked.cards]
    ctx = Context(findings=find(build_record(case.data), library.findings, library.terminology, noon(TODAY)),
                  settings=library.settings)
    for rule in library.rules:
        for tree in _trees(rule):
            ok, facts = evaluate(tree, ctx)
            assert compiled(tree)(ctx) == (ok, list(facts)), (rule.id, tree)
