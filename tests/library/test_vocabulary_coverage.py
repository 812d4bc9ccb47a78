"""Value sets the contract promises exist, and codes that carry a side or a limb also sit in the
side-* / site-* sets, so the engine can read laterality and region from the code alone."""
from __future__ import annotations

import simple_icd_10_cm as icd

from tests.helpers.apps import shipped_library

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

CONTRACT_IDS = """
radiculopathy-cervical radiculopathy-thoracic radiculopathy-lumbar radiculopathy-unspecified sciatica
lumbar-stenosis disc-leg-pain entrapment-median entrapment-ulnar entrapment-peroneal entrapment-other
low-back-pain neck-pain limb-pain-upper limb-pain-lower limb-pain-unspecified numbness paraesthesia
weakness-objective weakness-nonspecific foot-drop fasciculation myokymia cramp muscle-atrophy
cauda-equina-syndrome urinary-retention urinary-incontinence faecal-incontinence neurogenic-bladder-bowel
sexual-dysfunction gait-disturbance motor-neuron-disease dysarthria dysphagia upper-motor-neuron-sign
breathlessness caffeine-excess sleep-deprivation stress-anxiety dehydration hypomagnesaemia
hypokalaemia hypocalcaemia hyperthyroidism benign-prostatic-hyperplasia
symptom-observation answer-absent answer-unknown pain-score potassium magnesium-mass magnesium-molar
calcium electrolyte-panel interpretation-low interpretation-critical-low
side-left side-right side-both site-saddle site-lower-limb site-upper-limb site-lumbar-spine
site-cervical-spine site-thoracic-spine site-hand site-foot
physical-therapy nsaid
mri-lumbar-spine mri-cervical-spine mri-thoracic-spine ct-lumbar-spine ct-cervical-spine ct-thoracic-spine
nerve-conduction-study needle-emg-addon needle-emg-standalone pt-referral neurology-referral spine-referral
electrolyte-tests
""".split()


def terms():
    return shipped_library().terminology


def icd_codes(t):
    return {code for vs in t.valuesets for system, code in t.codes(vs) if system == ICD}


def test_every_contract_value_set_exists_and_is_not_empty():
    t = terms()
    missing = [vs for vs in CONTRACT_IDS if vs not in t.valuesets]
    assert missing == []
    assert [vs for vs in CONTRACT_IDS if not t.codes(vs)] == []


def test_sides_are_mutually_exclusive():
    t = terms()
    for a, b in [("side-left", "side-right"), ("side-left", "side-both"), ("side-right", "side-both")]:
        assert not t.codes(a) & t.codes(b), (a, b)


def test_icd_codes_naming_a_side_are_in_that_side_set():
    """ICD-10-CM's own description decides: 'right' -> side-right, 'left' -> side-left, 'bilateral' -> side-both."""
    t = terms()
    wrong = []
    for code in sorted(icd_codes(t)):
        text = icd.get_description(code).lower()
        side = "side-both" if "bilateral" in text else "side-right" if "right" in text else "side-left" if "left" in text else None
        if side and (ICD, code) not in t.codes(side):
            wrong.append((code, side))
    assert wrong == []
    assert (ICD, "M54.31") in t.codes("side-right") and (ICD, "M54.32") in t.codes("side-left")


def test_side_sets_hold_only_codes_that_name_that_side():
    t = terms()
    for vs, word in [("side-right", "right"), ("side-left", "left"), ("side-both", "bilateral")]:
        odd = [c for s, c in t.codes(vs) if s == ICD and word not in icd.get_description(c).lower()]
        assert odd == [], vs


def test_limb_codes_carry_their_region():
    t = terms()
    assert (ICD, "M79.604") in t.codes("site-lower-limb")
    assert (ICD, "M79.601") in t.codes("site-upper-limb")
    assert ("http://snomed.info/sct", "309521004") in t.codes("site-hand")
    assert ("http://snomed.info/sct", "309521004") in t.codes("site-upper-limb")
    assert not t.codes("site-lower-limb") & t.codes("site-upper-limb")


def test_rxnorm_codes_are_marked_unverified():
    t = terms()
    rx = {(s, c) for s, c in t.codes("nsaid") if s == RXNORM}
    assert {(RXNORM, "5640"), (RXNORM, "7258"), (RXNORM, "3355")} <= rx
    assert rx <= t.valuesets["nsaid"].unverified
