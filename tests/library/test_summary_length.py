"""A card summary must stay under CDS Hooks' 140 characters for every patient: a summary filled past
it is a response the service refuses to send, a 500 instead of advice. The library measures each
summary at load with the longest value each placeholder can take."""
from __future__ import annotations

import shutil

import pytest

from cds_service.core.settings import Settings
from cds_service.library.loader import LibraryError, load_library
from tests.helpers.apps import new_app
from tests.helpers.findings import ICD, LOINC, PATIENT_ID, condition, observation, patient, searchset
from tests.helpers.paths import CARDS


def lab(rid: str, code: str, value: float) -> dict:
    return observation(rid, (LOINC, code), valueQuantity={"value": value, "unit": "mmol/L",
                                                          "system": "http://unitsofmeasure.org", "code": "mmol/L"})


def test_a_patient_with_every_electrolyte_low_gets_the_card_not_a_500():
    """Fasciculation with low potassium, magnesium, calcium and ionised calcium: the summary named
    each lab with its value and went past 140 characters."""
    labs = [lab("k", "2823-3", 2.9), lab("mg", "2601-3", 0.45), lab("ca", "2000-8", 1.7), lab("ica", "1994-3", 0.75)]
    body = {"hook": "patient-view", "hookInstance": "2b1f3a3e-0d47-4c7b-9a51-6a3e3b1c9a11",
            "context": {"userId": "Practitioner/a", "patientId": PATIENT_ID},
            "prefetch": {"patient": patient("1980-03-01"), "conditions": searchset(condition("f", (ICD, "R25.3"))),
                         "observations": searchset(*labs)}}
    app = new_app(Settings(dev=True, auth_enabled=False, database_url="sqlite://"))
    response = app.test_client().post("/cds-services/nerve-cds-patient-view", json=body)
    assert response.status_code == 200, response.get_json()
    summaries = [c["summary"] for c in response.get_json()["cards"]]
    assert any("potassium, magnesium, calcium, ionised calcium" in s for s in summaries), summaries
    assert all(len(s) < 140 for s in summaries)


def _library_with(tmp_path, file: str, old: str, new: str):
    shutil.copytree(CARDS, tmp_path / "cards")
    path = tmp_path / "cards" / "rules" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(LibraryError) as raised:
        load_library(tmp_path / "cards")
    return raised.value.problems


def test_a_summary_that_could_pass_the_limit_is_refused_with_its_longest_reading(tmp_path):
    problems = _library_with(tmp_path, "fasciculation.yaml", "may contribute to twitching or cramps",
                             "may contribute to twitching, cramps, aching and stiffness in the legs")
    assert any("FAS-LAB: card.summary:" in p and "characters at the longest (CDS Hooks allows 139)" in p for p in problems), problems


def test_a_summary_placeholder_with_no_bounded_length_is_refused(tmp_path):
    problems = _library_with(tmp_path, "fasciculation.yaml", "Low {low_labs_brief} may", "Low {low_labs} may")
    assert any("FAS-LAB: card.summary: {low_labs} has no bounded length" in p for p in problems), problems


def test_infection_with_a_new_deficit_on_an_order_hook_gets_a_valid_response():
    """The order-hook wording of the escalated infection card was 153 characters: every such call
    was refused by the service's own response check."""
    from datetime import date

    from cds_service.data.scenarios import load_scenario
    from cds_service.engine.advise import advise
    from cds_service.web.response import check_response
    from cds_service.workbench.cases import noon, scenario_case
    from tests.helpers.apps import shipped_library

    library, today = shipped_library(), date.today()
    case = scenario_case(load_scenario(Settings().fixtures_dir, "r23-epidural-abscess-new-weakness", today))
    draft = {"resourceType": "ServiceRequest", "id": "draft-mri", "status": "draft", "intent": "order",
             "subject": {"reference": f"Patient/{case.context['patientId']}"},
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]}}
    context = {**case.context, "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
               "selections": ["ServiceRequest/draft-mri"]}
    cards = advise(library, library.service("nerve-cds-order-select"), context, case.data, noon(today)).cards
    assert any(c["source"]["topic"]["code"] == "serious-spinal-pathology" and c["indicator"] == "critical" for c in cards)
    check_response({"cards": cards})
