"""Synonyms the term patterns used to miss (issue #19): neuritis read as radiculitis, named-nerve
lesions as entrapment, and a coded lumbar or cervical disc displacement as back or neck pain
context for conservative care, never as radicular context on its own."""
from __future__ import annotations

import pytest

from tests.helpers.findings import ICD, SNOMED, ago, condition, run


@pytest.mark.parametrize("coding,finding", [
    ((SNOMED, "62195001"), "radiculopathy-lumbar"),      # lumbosacral neuritis
    ((SNOMED, "267977009"), "radiculopathy-cervical"),   # brachial (cervical) neuritis
    ((SNOMED, "202796002"), "radiculopathy"),           # thoracic and lumbosacral neuritis
    ((SNOMED, "95675005"), "entrapment"),               # ulnar neuritis
    ((SNOMED, "297946004"), "entrapment"),              # lower limb nerve lesion
])
def test_neuritis_and_named_nerve_lesions_are_read(coding, finding):
    assert run(condition("c1", coding, onsetDateTime=ago(10))).by_name[finding].present


@pytest.mark.parametrize("coding,pain", [((SNOMED, "20021007"), "low-back-pain"), ((ICD, "M51.26"), "low-back-pain"),
                                         ((SNOMED, "85216006"), "neck-pain"), ((ICD, "M50.222"), "neck-pain")])
def test_disc_displacement_is_spinal_pain_context_not_radicular(coding, pain):
    found = run(condition("c1", coding, onsetDateTime=ago(10))).by_name
    assert found[pain].present and found["axial-pain"].present
    assert "radiculopathy" not in found and "radiculopathy-lumbar" not in found and "radiculopathy-cervical" not in found
