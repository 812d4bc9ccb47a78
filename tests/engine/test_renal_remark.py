"""Renal function changes the study, not the indication (CLINICAL §6.0.2, §6.2 Card, §6.12): with an
eGFR below contrast_egfr_min or dialysis / CKD stage 5 in the record, a card that suggests a contrast
MRI keeps it and says "group II agent, discuss with radiology", citing ACR-NKF 2021 once."""
from __future__ import annotations

import itertools

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import CES, SERVICE, hook
from tests.helpers.engine import shipped_library, topic_cards
from tests.helpers.findings import ICD, LOINC, ago, condition, observation

SERIOUS = "serious-spinal-pathology"
REMARK = "group II gadolinium agent"
ACR_NKF = "https://doi.org/10.1148/radiol.2020202903"
CONTRAST_LUMBAR_MRI = "72158"


def cond(rid: str, code: str, days: int) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(days))


def fever() -> dict:
    return observation("t", (LOINC, "8310-5"), days=0, valueQuantity={"value": 38.6, "unit": "Cel"})


def egfr(value: float, days: float = 3, unit: str = "mL/min/{1.73_m2}") -> dict:
    return observation("g", (LOINC, "98979-8"), days=days, valueQuantity={"value": value, "unit": unit})


def infection(*extra: dict) -> dict:
    return topic_cards(cond("lbp", "M54.50", 6), fever(), *extra)[SERIOUS]


def created(card: dict) -> set[str]:
    return {c["code"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"
            for c in a["resource"]["code"]["coding"]}


def test_a_low_egfr_keeps_the_contrast_mri_and_says_group_ii_agent_citing_acr_nkf_once():
    card = infection(egfr(24))
    assert REMARK in card["detail"] and "24 mL/min" in card["detail"]
    assert CONTRAST_LUMBAR_MRI in created(card), "the contrast study is kept"
    assert [link["url"] for link in card["links"]].count(ACR_NKF) == 1 and ACR_NKF not in card["detail"]
    assert card["detail"].index(REMARK) < card["detail"].index("**Triggered by:**"), "advice before evidence"
    assert card["indicator"] == infection()["indicator"], "the indication is unchanged"


def test_dialysis_or_ckd_stage_5_count_as_well():
    for code in ("Z99.2", "N18.5", "N18.6"):
        assert REMARK in infection(cond("ckd", code, 700))["detail"], code


def test_an_egfr_at_or_above_the_limit_or_too_old_says_nothing():
    assert REMARK not in infection(egfr(30))["detail"]
    assert REMARK not in infection(egfr(45))["detail"]
    assert REMARK not in infection(egfr(20, days=120))["detail"], "outside renal_egfr_lookback_days"
    assert ACR_NKF not in {link["url"] for link in infection(egfr(45))["links"]}


def test_a_card_without_a_contrast_study_gets_no_renal_remark():
    shown = topic_cards(cond("rad", "M54.16", 10), egfr(15))
    assert shown and not any(REMARK in c["detail"] for c in shown.values())


def test_the_call_goes_on_without_the_renal_key(tmp_path):
    """renalFunction is optional (whenMissing: continue): a client that sends no eGFR search and no
    fhirServer still gets its cards."""
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db"))
    prefetch = {key: value for key, value in CES.items() if key != "renalFunction"}
    response = app.test_client().post(SERVICE, json=hook(prefetch=prefetch))
    assert response.status_code == 200, response.get_json()
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["cauda-equina-emergency"]


def contrast_created(card: dict) -> bool:
    lib = shipped_library()
    return any(lib.terminology.concepts_in(a["resource"]["code"]["coding"]) & lib.context.renal.contrast_kinds
               for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create")


PICTURES = {
    "infection": (cond("lbp", "M54.50", 6), fever()),
    "cauda equina": (cond("ces", "G83.4", 1),),
    "lumbar radiculopathy at 8 weeks": (cond("rad", "M54.16", 56),),
    "cervical radiculopathy at 8 weeks": (cond("crad", "M54.12", 56),),
}


@pytest.mark.parametrize("names", [c for n in range(1, len(PICTURES) + 1) for c in itertools.combinations(PICTURES, n)],
                         ids=" + ".join)
def test_every_card_that_orders_a_contrast_study_says_so_whoever_asked_for_contrast(names):
    """engine/arrange.py merges each study group into one order on one card, with contrast when any
    card of the group asked for it: that card carries the renal remark even when the contrast came
    from another card's reason (the cauda equina card taking the infection card's contrast MRI)."""
    resources = [r for name in names for r in PICTURES[name]]
    for card in topic_cards(*resources, egfr(24)).values():
        if contrast_created(card):
            assert REMARK in card["detail"], card["source"]["topic"]["code"]
    assert not any(REMARK in c["detail"] for c in topic_cards(*resources, egfr(60)).values())


def test_the_cauda_equina_card_keeping_the_infection_cards_contrast_mri_says_group_ii_agent():
    cards = topic_cards(cond("lbp", "M54.50", 6), fever(), cond("ces", "G83.4", 1), egfr(24))
    keeper = cards["cauda-equina-emergency"]
    assert CONTRAST_LUMBAR_MRI in created(keeper) and REMARK in keeper["detail"]
