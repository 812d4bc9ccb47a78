"""docs/clinical-safety.md recency and episodes, and §5.1 severity, as the rule predicates see them: the real
card library's settings, findings built from FHIR resources, no stand-ins for our own code."""
from __future__ import annotations

from cds_service.engine.drafts import Draft
from cds_service.engine.predicates import Context
from cds_service.engine.when import evaluate
from tests.helpers.apps import shipped_library
from tests.helpers.findings import (
    CPT,
    ICD,
    LEFT,
    LOINC,
    LOWER_LIMB,
    PATIENT_ID,
    SNOMED,
    ago,
    body_site,
    concept,
    condition,
    observation,
    run,
)

SETTINGS = shipped_library().settings
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
MRI_LUMBAR = (CPT, "72148")
EPISODE = {"active_episode": {"findings": "low-back-pain", "days": "episode_active_days"}}
MRI_ANSWERED = {"study": {"kinds": ["mri-lumbar-spine"], "within": "dedupe_days", "open_within": "open_order_days",
                          "since_onset_of": "lumbar-radicular-cluster"}}


def holds(node, *resources, drafts=()):
    return evaluate(node, Context(findings=run(*resources), settings=SETTINGS, drafts=tuple(drafts)))[0]


def mri(rid, days, resource="Procedure", **fields):
    if resource == "Procedure":
        return {"resourceType": "Procedure", "id": rid, "status": "completed", "code": concept(MRI_LUMBAR),
                "subject": SUBJECT, "performedDateTime": ago(days), **fields}
    return {"resourceType": "ServiceRequest", "id": rid, "status": "active", "intent": "order",
            "code": concept(MRI_LUMBAR), "subject": SUBJECT, "authoredOn": ago(days), **fields}


def test_a_years_old_back_pain_entry_is_no_active_episode_but_a_recent_one_is():
    years = SETTINGS["episode_active_days"] * 4
    assert not holds(EPISODE, condition("c", (ICD, "M54.50"), onsetDateTime=ago(years), recordedDate=ago(years)))
    assert holds(EPISODE, condition("c", (ICD, "M54.50"), onsetDateTime=ago(20)))
    # an old onset re-recorded (or re-documented) recently is an active episode again
    assert holds(EPISODE, condition("c", (ICD, "M54.50"), onsetDateTime=ago(years), recordedDate=ago(3)))


def test_an_mri_done_in_this_episode_answers_the_imaging_question_after_the_dedupe_window():
    sciatica = condition("c", (ICD, "M54.17"), onsetDateTime=ago(70))
    assert holds(MRI_ANSWERED, sciatica, mri("m", 35))
    # the same MRI done before this episode began, outside the dedupe window, answers nothing
    assert not holds(MRI_ANSWERED, condition("c", (ICD, "M54.17"), onsetDateTime=ago(20)), mri("m", 35))


def test_an_open_order_counts_only_while_recent():
    sciatica = condition("c", (ICD, "M54.17"), onsetDateTime=ago(70))
    assert holds(MRI_ANSWERED, sciatica, mri("sr", 10, resource="ServiceRequest"))
    stale = SETTINGS["open_order_days"] + 30
    assert not holds(MRI_ANSWERED, sciatica, mri("sr", stale, resource="ServiceRequest"))
    # recent, but placed before this episode began: it was not ordered for these symptoms
    assert not holds(MRI_ANSWERED, condition("c", (ICD, "M54.17"), onsetDateTime=ago(5)),
                     mri("sr", 10, resource="ServiceRequest"))


def test_the_draft_being_signed_is_not_its_own_earlier_order():
    sciatica = condition("c", (ICD, "M54.17"), onsetDateTime=ago(70))
    draft_resource = mri("d1", 0, resource="ServiceRequest", status="draft")
    draft = Draft("ServiceRequest/d1", draft_resource, frozenset({"mri-lumbar-spine"}), considered=True)
    assert holds(MRI_ANSWERED, sciatica, draft_resource)
    assert not holds(MRI_ANSWERED, sciatica, draft_resource, drafts=[draft])


def test_an_order_placed_before_the_deficit_does_not_answer_it():
    since = {"new_since_study": {"kinds": ["mri-lumbar-spine"], "findings": ["foot-drop"]}}
    foot_drop = observation("fd", (SNOMED, "6077001"), days=2, valueBoolean=True)
    assert holds(since, mri("sr", 10, resource="ServiceRequest"), foot_drop)
    assert not holds(since, mri("sr", 1, resource="ServiceRequest"), foot_drop)


def test_severe_weakness_is_judged_on_the_latest_grade():
    severe = {"graded_at_most": {"findings": "weakness-objective", "value": "severe_weakness_mrc"}}
    limit = SETTINGS["severe_weakness_mrc"]

    def mrc(rid, days, grade):
        return observation(rid, (SNOMED, "26544005"), days=days, bodySite=body_site(LOWER_LIMB, LEFT),
                           valueQuantity={"value": grade, "unit": "{score}"})

    assert holds(severe, mrc("a", 1, limit))
    assert not holds(severe, mrc("a", 1, limit + 1))
    assert not holds(severe, mrc("a", 10, limit), mrc("b", 1, limit + 1)), "recovered: latest grade counts"


def test_a_low_lab_counts_only_within_the_look_back():
    low = {"lab_low": {"labs": "calcium", "within": "electrolyte_lookback_days"}}

    def calcium(days):
        return observation("ca", (LOINC, "17861-6"), days=days, valueQuantity={"value": 1.9, "unit": "mmol/L"},
                           referenceRange=[{"low": {"value": 2.15, "unit": "mmol/L"}}])

    assert holds(low, calcium(3))
    assert not holds(low, calcium(SETTINGS["electrolyte_lookback_days"] + 1))
