"""Orders in context (CLINICAL §6.9, §6.14) beyond what the scenarios' expectations say: the
"done on" line and its override, the wording of every CT to MRI switch, the wrong-region update,
and rules run in shadow (evaluated, reported, never shown)."""
from __future__ import annotations

import logging
import shutil
from datetime import date

import yaml

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from cds_service.engine.advise import advise
from cds_service.engine.explain import explanation
from cds_service.library.loader import load_library
from cds_service.tools.compare import compare
from cds_service.workbench.cases import noon, scenario_case, service_for
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.calls import CES, SERVICE, hook

SETTINGS = Settings()
TODAY = date.today()
MRI_CODES = {"72141", "72146", "72148", "72156", "72157", "72158"}


def cards_of(sid: str, change=None, library=None) -> list[dict]:
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, TODAY)
    if change:
        change(scenario.bundle)
    case = scenario_case(scenario)
    library = library or shipped_library()
    return advise(library, service_for(library, case.hook), case.context, case.data, noon(TODAY)).cards


def created(cards: list[dict]) -> set[str]:
    return {c["code"] for card in cards for s in card.get("suggestions", []) for a in s["actions"]
            if a["type"] == "create" for c in a["resource"]["code"]["coding"]}


def entry(bundle: dict, suffix: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith(suffix))


def test_a_recent_whole_spine_mri_is_not_ordered_again_and_the_card_says_when_it_was_done():
    (card,) = cards_of("r25-whole-spine-mri-6-days-ago-ces")
    assert card["source"]["topic"]["code"] == "cauda-equina-emergency" and not created([card]) & MRI_CODES
    done = date.fromordinal(TODAY.toordinal() - 6).isoformat()
    assert f"done on {done}" in card["detail"], card["detail"]


def test_a_red_flag_documented_after_the_study_orders_the_mri_again():
    def retention_after_the_scan(bundle):
        entry(bundle, "-o2")["effectiveDateTime"] = date.fromordinal(TODAY.toordinal() - 2).isoformat() + "T09:00:00Z"

    cards = cards_of("r25-whole-spine-mri-6-days-ago-ces", retention_after_the_scan)
    assert created(cards) & MRI_CODES and "done on" not in " ".join(c["detail"] for c in cards)


def test_an_mri_older_than_the_window_is_ordered_again():
    def older_scan(bundle):
        entry(bundle, "-i3")["started"] = date.fromordinal(TODAY.toordinal() - 45).isoformat() + "T14:00:00Z"

    assert created(cards_of("r25-whole-spine-mri-6-days-ago-ces", older_scan)) & MRI_CODES


def test_every_ct_to_mri_switch_says_after_mr_safety_screening():
    def no_pacemaker(bundle):
        bundle["entry"] = [e for e in bundle["entry"] if not e["resource"]["id"].endswith("-c2")]

    (card,) = [c for c in cards_of("o22-ct-lumbar-with-pacemaker", no_pacemaker)
               if c["source"]["topic"]["code"] == "radiculopathy-imaging"]
    (suggestion,) = card["suggestions"]
    assert suggestion["label"].startswith("After MR-safety screening") and suggestion["actions"][0]["type"] == "update"
    assert "after MR-safety screening" in card["detail"]


def test_with_a_pacemaker_the_card_names_the_safe_alternatives_and_changes_no_order():
    (card,) = [c for c in cards_of("o22-ct-lumbar-with-pacemaker") if c["source"]["topic"]["code"] == "radiculopathy-imaging"]
    assert "suggestions" not in card
    assert ("MRI only after MR-safety screening; MR Conditional devices may be scanned under their conditions; "
            "otherwise CT or CT myelography") in " ".join(card["detail"].split())


def test_an_ended_device_is_no_flag():
    def explanted(bundle):
        entry(bundle, "-d2")["status"] = "inactive"

    (card,) = [c for c in cards_of("o23-ct-lumbar-with-pacemaker-device", explanted)
               if c["source"]["topic"]["code"] == "radiculopathy-imaging"]
    assert card["suggestions"][0]["actions"][0]["type"] == "update"


def test_the_wrong_region_card_updates_to_the_indicated_region_and_never_deletes():
    (card,) = [c for c in cards_of("o20-lumbar-mri-for-neck-pain") if c["source"]["topic"]["code"] == "imaging-region"]
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update" and action["resource"]["id"] == "o20-lumbar-mri-for-neck-pain-draft1"
    assert [c["code"] for c in action["resource"]["code"]["coding"]] == ["72141"]


def test_a_lumbar_indication_keeps_the_lumbar_order_quiet():
    def back_pain_too(bundle):
        entry(bundle, "-c1")["code"]["coding"].append({"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.50"})

    assert "imaging-region" not in {c["source"]["topic"]["code"] for c in cards_of("o20-lumbar-mri-for-neck-pain", back_pain_too)}


def shadow_library(tmp_path, status: str = "shadow"):
    """The shipped cards plus copies of CES-1 and ORD-IMG-NOT-INDICATED that run first."""
    cards = tmp_path / "cards"
    shutil.copytree(SETTINGS.cards_dir, cards)
    copies = []
    for name, rule_id in (("cauda-equina.yaml", "CES-1"), ("orders.yaml", "ORD-IMG-NOT-INDICATED")):
        rules = yaml.safe_load((cards / "rules" / name).read_text(encoding="utf-8"))["rules"]
        rule = dict(next(r for r in rules if r["id"] == rule_id))
        copies.append({**rule, "id": f"{rule_id}-NEW", "priority": 1, "status": status})
    (cards / "rules" / "zz-shadow.yaml").write_text(yaml.safe_dump({"rules": copies}, sort_keys=False), encoding="utf-8")
    return cards


def test_a_shadow_copy_of_a_rule_changes_no_card(tmp_path):
    shadow = load_library(shadow_library(tmp_path / "shadow"))
    assert compare(shipped_library(), shadow, SETTINGS.fixtures_dir, TODAY) == []
    # the same copies made active do change cards: the comparison above is not vacuous
    active = load_library(shadow_library(tmp_path / "active", "active"))
    assert compare(shipped_library(), active, SETTINGS.fixtures_dir, TODAY)


def test_explain_mode_shows_the_card_a_shadow_rule_would_have_shown(tmp_path):
    library = load_library(shadow_library(tmp_path))
    case = scenario_case(load_scenario(SETTINGS.fixtures_dir, "s03-classic-cauda-equina", TODAY))
    advice = advise(library, service_for(library, case.hook), case.context, case.data, noon(TODAY), explain=True)
    assert advice.shadow == ("cauda-equina-emergency",)
    report = explanation(advice, library)
    (new,) = [r for r in report["rules"] if r["rule"] == "CES-1-NEW"]
    (real,) = advice.cards
    assert new["outcome"] == "shadow" and new["wouldBeCard"]["summary"] == real["summary"]
    assert [c["topic"] for c in report["cards"]] == ["cauda-equina-emergency"]


def test_the_request_log_counts_what_shadow_rules_would_have_shown(tmp_path, caplog):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                           cards_dir=shadow_library(tmp_path)))
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    response = app.test_client().post(SERVICE, json=hook(prefetch=CES))
    assert response.status_code == 200
    (line,) = [rec for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert line.fields["shadow"] == ["cauda-equina-emergency"]
    assert line.fields["cards"] == ["cauda-equina-emergency"], "the real card, once"


def test_on_an_order_hook_a_drafted_repeat_gets_the_done_on_line():
    def drafted_lumbar_mri(scenario):
        scenario.request["hook"] = "order-select"
        draft = {"resourceType": "ServiceRequest", "id": "r25-draft1", "status": "draft", "intent": "order", "priority": "routine",
                 "subject": {"reference": f"Patient/{scenario.patient_id}"},
                 "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]}}
        scenario.request["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
        scenario.request["context"]["selections"] = ["ServiceRequest/r25-draft1"]

    scenario = load_scenario(SETTINGS.fixtures_dir, "r25-whole-spine-mri-6-days-ago-ces", TODAY)
    drafted_lumbar_mri(scenario)
    case = scenario_case(scenario)
    library = shipped_library()
    cards = advise(library, service_for(library, case.hook), case.context, case.data, noon(TODAY)).cards
    assert not created(cards) & MRI_CODES
    done = date.fromordinal(TODAY.toordinal() - 6).isoformat()
    assert any(f"MRI lumbar spine done on {done}" in c["detail"] for c in cards), [c["detail"] for c in cards]
