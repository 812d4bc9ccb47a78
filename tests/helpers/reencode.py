"""Re-encodings of a scenario's resources that mean the same thing in FHIR R4 (issue #19).

Each re-encoding takes the resources of a scenario (Patient included) and returns them written
another way the spec allows, or None when the scenario has nothing it applies to. Only the form
changes: the same codes (or codes a card file says mean the same), the same dates, the same
answers. A reader that reads every form the spec allows gives the same cards for all of them.

The codes used here are taken from cards/ where cards/ says they mean the same (system aliases,
answer value sets, WHO ICD-10 codes read as ICD-10-CM); the few structural codes (DICOM modality,
SNOMED body structures) are named where used.
"""
from __future__ import annotations

import copy
import json
import zlib
from datetime import date
from functools import cache
from typing import Any, Callable, Iterator

import yaml

from cds_service.core.settings import Settings

Resources = list[dict]
ReEncoding = Callable[[Resources], "Resources | None"]

BASE = "https://ehr.example.org/fhir"  # the EHR's FHIR base in absolute references
LOCAL = "http://ehr.example.org/CodeSystem/local"
SNOMED, LOINC, CPT = "http://snomed.info/sct", "http://loinc.org", "http://www.ama-assn.org/go/cpt"
ICD10CM, ICD10WHO = "http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PHYSIOTHERAPY_REFERRAL, PHYSIOTHERAPY = "308447003", "91251008"  # SNOMED: referral to / physical therapy procedure
LUMBAR_MRI_CPT, LUMBAR_SPINE = "72148", "122496007"  # CPT MRI lumbar without contrast; SNOMED lumbar spine structure
# SNOMED: a limb structure with a laterality qualifier -> the pre-coordinated structure (FHIR R4 examples)
PRE_COORDINATED = {("61685007", "7771000"): "32153003", ("61685007", "24028007"): "62175007",
                   ("53120007", "7771000"): "368208006", ("53120007", "24028007"): "368209003"}
LATERALITY = {"7771000", "24028007", "51440002"}


def _cards() -> Any:
    return Settings().cards_dir


@cache
def _aliases() -> dict[str, str]:
    """Canonical system -> another spelling cards/code-systems.yaml accepts for it."""
    data = yaml.safe_load((_cards() / "code-systems.yaml").read_text(encoding="utf-8"))
    out = {}
    for entry in data["systems"]:
        spellings = entry.get("aliases", []) + [p + "900000000000207008" for p in entry.get("alias_prefixes", [])]
        out[entry["uri"]] = spellings[-1] if spellings else f" {entry['uri'].upper()}/ "
    return out


@cache
def who_icd10() -> frozenset[str]:
    """ICD-10 codes cards/code-systems.yaml says mean the same in WHO ICD-10 and ICD-10-CM."""
    data = yaml.safe_load((_cards() / "code-systems.yaml").read_text(encoding="utf-8"))
    entry = next((s for s in data["systems"] if s["uri"] == ICD10WHO), {})
    return frozenset(entry.get("same_codes", {}).get("codes", []))


@cache
def _answer_codes(valueset: str) -> tuple[tuple[str, str], ...]:
    vs = json.loads((_cards() / "valuesets" / f"{valueset}.json").read_text(encoding="utf-8"))
    return tuple((inc["system"], c["code"]) for inc in vs["compose"]["include"] for c in inc.get("concept", []))


def concepts(node: Any) -> Iterator[dict]:
    """Every CodeableConcept (a dict with a coding list) in a resource, nested ones too."""
    if isinstance(node, dict):
        if isinstance(node.get("coding"), list):
            yield node
        for value in node.values():
            yield from concepts(value)
    elif isinstance(node, list):
        for value in node:
            yield from concepts(value)


def _changed(before: Resources, after: Resources) -> Resources | None:
    return after if after != before else None


def _each(change: Callable[[dict], None]) -> ReEncoding:
    def apply(resources: Resources) -> Resources | None:
        out = copy.deepcopy(resources)
        for resource in out:
            change(resource)
        return _changed(resources, out)
    apply.__name__ = change.__name__
    return apply


@_each
def local_coding_first(resource: dict) -> None:
    """Every CodeableConcept: an EHR-local coding first, the standard codings after it, reversed."""
    for concept in concepts(resource):
        codings = concept["coding"]
        if codings and all(isinstance(c, dict) for c in codings):
            concept["coding"] = [{"system": LOCAL, "code": f"L-{codings[0].get('code')}", "display": "local"}] + codings[::-1]


@_each
def system_spellings(resource: dict) -> None:
    """Every system as another spelling the code-system table accepts (OID, older URI, edition URI)."""
    for concept in concepts(resource):
        for coding in concept["coding"]:
            if coding.get("system") in _aliases():
                coding["system"] = _aliases()[coding["system"]]


def answers_as(system: str) -> ReEncoding:
    """Every true/false answer (valueBoolean) as a coded answer of `system` from the answer value sets."""
    positive = next(code for s, code in _answer_codes("answer-positive") if s == system)
    absent = next(code for s, code in _answer_codes("answer-absent") if s == system)

    def change(resource: dict) -> None:
        if resource.get("resourceType") == "Observation" and isinstance(resource.get("valueBoolean"), bool):
            code = positive if resource.pop("valueBoolean") else absent
            resource["valueCodeableConcept"] = {"coding": [{"system": system, "code": code}]}
    change.__name__ = f"answers_as_{system.rsplit('/', 1)[-1]}"
    return _each(change)


def answer_systems() -> list[ReEncoding]:
    return [answers_as(s) for s in dict.fromkeys(s for s, _ in _answer_codes("answer-positive"))]


@_each
def answers_as_interpretation(resource: dict) -> None:
    """A positive / negative answer as interpretation POS / NEG with no value."""
    if resource.get("resourceType") == "Observation" and isinstance(resource.get("valueBoolean"), bool):
        code = "POS" if resource.pop("valueBoolean") else "NEG"
        resource["interpretation"] = [{"coding": [{"system": V3, "code": code}]}]


def components(resources: Resources) -> Resources | None:
    """Yes/no Observations taken at one time, with no bodySite, as one Observation with components."""
    out, groups = [], {}
    for resource in copy.deepcopy(resources):
        if (resource.get("resourceType") == "Observation" and isinstance(resource.get("valueBoolean"), bool)
                and "bodySite" not in resource and "component" not in resource and resource.get("status") == "final"):
            groups.setdefault(resource.get("effectiveDateTime"), []).append(resource)
        else:
            out.append(resource)
    if not any(len(g) > 1 for g in groups.values()):
        return None
    for n, (when, group) in enumerate(groups.items()):
        if len(group) == 1:
            out += group
            continue
        panel = {k: v for k, v in group[0].items() if k not in ("code", "valueBoolean", "id", "component")}
        panel.update(id=f"{group[0]['id']}-panel{n}", code={"coding": [{"system": LOCAL, "code": "red-flag-screen"}],
                                                           "text": "Red flag screen"},
                     component=[{"code": o["code"], "valueBoolean": o["valueBoolean"]} for o in group])
        out.append(panel)
    return out


def _effective(form: str) -> ReEncoding:
    def change(resource: dict) -> None:
        value = resource.get("effectiveDateTime")
        if not isinstance(value, str):
            return
        if form == "effectivePeriod":
            resource["effectivePeriod"] = {"start": resource.pop("effectiveDateTime")}
        elif form == "effectiveInstant" and "T" in value:
            resource["effectiveInstant"] = resource.pop("effectiveDateTime")
    change.__name__ = form
    return _each(change)


effective_period, effective_instant = _effective("effectivePeriod"), _effective("effectiveInstant")


@_each
def onset_period(resource: dict) -> None:
    if resource.get("resourceType") == "Condition" and "onsetDateTime" in resource:
        resource["onsetPeriod"] = {"start": resource.pop("onsetDateTime")}


def onset_age(resources: Resources) -> Resources | None:
    """onsetDateTime of a date as onsetAge in days since birthDate: the same day exactly."""
    out = copy.deepcopy(resources)
    birth = next((r.get("birthDate") for r in out if r.get("resourceType") == "Patient"), None)
    if not birth or len(birth) != 10:
        return None
    for resource in out:
        onset = resource.get("onsetDateTime")
        if resource.get("resourceType") == "Condition" and isinstance(onset, str) and len(onset) == 10:
            days = (date.fromisoformat(onset) - date.fromisoformat(birth)).days
            del resource["onsetDateTime"]
            resource["onsetAge"] = {"value": days, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}
    return _changed(resources, out)


@_each
def recorded_the_day_of_onset(resource: dict) -> None:
    if resource.get("resourceType") == "Condition" and "recordedDate" not in resource and "onsetDateTime" in resource:
        resource["recordedDate"] = resource["onsetDateTime"][:10]


@_each
def who_icd10_codes(resource: dict) -> None:
    """ICD-10-CM codes that mean the same in WHO ICD-10 sent under the WHO system."""
    for concept in concepts(resource):
        for coding in concept["coding"]:
            if coding.get("system") == ICD10CM and coding.get("code") in who_icd10():
                coding["system"] = ICD10WHO


def _sites(resource: dict) -> list[dict]:
    site = resource.get("bodySite")
    return site if isinstance(site, list) else [site] if isinstance(site, dict) else []


@_each
def pre_coordinated_laterality(resource: dict) -> None:
    """A limb with a laterality qualifier as the one pre-coordinated SNOMED body structure."""
    for site in _sites(resource):
        codes = tuple(c.get("code") for c in site.get("coding", []))
        if codes in PRE_COORDINATED:
            site["coding"] = [{"system": SNOMED, "code": PRE_COORDINATED[codes]}]


@_each
def laterality_as_qualifier_extension(resource: dict) -> None:
    """The laterality coding moved out of the site's codings into a laterality extension on it."""
    for site in _sites(resource):
        sides = [c for c in site.get("coding", []) if c.get("code") in LATERALITY]
        rest = [c for c in site.get("coding", []) if c.get("code") not in LATERALITY]
        if sides and rest:
            site["coding"] = rest
            site["extension"] = [{"url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier",
                                  "valueCodeableConcept": {"coding": sides}}]


@_each
def physiotherapy_in_progress(resource: dict) -> None:
    """A completed physiotherapy referral as physiotherapy under way (Procedure in-progress)."""
    codes = [c.get("code") for c in fhirjson_codings(resource.get("code"))]
    if resource.get("resourceType") in ("ServiceRequest", "Procedure") and PHYSIOTHERAPY_REFERRAL in codes \
            and resource.get("status") == "completed":
        when = resource.pop("occurrenceDateTime", None) or resource.pop("performedDateTime", None) or resource.pop("authoredOn", None)
        for key in ("intent", "occurrenceDateTime", "authoredOn", "performedDateTime"):
            resource.pop(key, None)
        resource.update(resourceType="Procedure", status="in-progress",
                        code={"coding": [{"system": SNOMED, "code": PHYSIOTHERAPY}]})
        if when:
            resource["performedPeriod"] = {"start": when}


@_each
def mri_as_imaging_study(resource: dict) -> None:
    """A completed lumbar MRI Procedure as an ImagingStudy: modality MR, a lumbar bodySite, no procedure code."""
    codes = [c.get("code") for c in fhirjson_codings(resource.get("code"))]
    if resource.get("resourceType") == "Procedure" and codes == [LUMBAR_MRI_CPT] and resource.get("status") == "completed":
        started = resource.pop("performedDateTime")
        for key in ("code", "status", "performedDateTime"):
            resource.pop(key, None)
        resource.update(resourceType="ImagingStudy", status="available", started=started,
                        modality=[{"system": DICOM, "code": "MR"}],
                        series=[{"uid": "2.25.1", "modality": {"system": DICOM, "code": "MR"},
                                 "bodySite": {"system": SNOMED, "code": LUMBAR_SPINE}}])


def absolute_references_on(base: str) -> ReEncoding:
    """Every reference as an absolute URL on the FHIR base `base` (medicationReference too)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and "/" in ref and not ref.startswith(("http", "#", "urn:")):
                node["reference"] = f"{base}/{ref}"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    def absolute_references(resources: Resources) -> Resources | None:
        out = copy.deepcopy(resources)
        walk(out)
        return _changed(resources, out)
    return absolute_references


absolute_references = absolute_references_on(BASE)


NOISE: Resources = [
    {"resourceType": "Observation", "id": "noise-bp", "status": "final",
     "code": {"coding": [{"system": LOINC, "code": "85354-9"}]}, "effectiveDateTime": "2020-01-01",
     "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": {"value": 120, "unit": "mm[Hg]"}}]},
    {"resourceType": "Observation", "id": "noise-smoking", "status": "final",
     "code": {"coding": [{"system": LOINC, "code": "72166-2"}]},
     "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "8517006"}]}},
    {"resourceType": "Condition", "id": "noise-htn", "code": {"coding": [{"system": SNOMED, "code": "38341003"}]},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}},
    {"resourceType": "AllergyIntolerance", "id": "noise-allergy", "code": {"text": "penicillin"}},
]


def noise(resources: Resources) -> Resources:
    """Unrelated resources added, and narrative, meta and an unknown extension on every resource."""
    out = copy.deepcopy(resources)
    patient = next((r for r in out if r.get("resourceType") == "Patient"), {})
    for resource in out:
        resource["meta"] = {"lastUpdated": "2020-01-01T00:00:00Z", "tag": [{"system": LOCAL, "code": "noise"}]}
        resource["text"] = {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}
        resource.setdefault("extension", []).append({"url": "http://ehr.example.org/ext", "valueString": "x"})
    for extra in copy.deepcopy(NOISE):
        extra["id"] = f"{extra['id']}-{zlib.crc32(str(patient.get('id')).encode()):08x}"
        extra["subject" if extra["resourceType"] != "AllergyIntolerance" else "patient"] = {"reference": f"Patient/{patient.get('id')}"}
        out.append(extra)
    return out


def fhirjson_codings(concept: Any) -> list[dict]:
    return [c for c in concept.get("coding", []) if isinstance(c, dict)] if isinstance(concept, dict) else []


def re_encodings() -> list[ReEncoding]:
    """Every re-encoding, each applied on its own."""
    return [local_coding_first, system_spellings, *answer_systems(), answers_as_interpretation, components,
            effective_period, effective_instant, onset_period, onset_age, recorded_the_day_of_onset,
            who_icd10_codes, pre_coordinated_laterality, laterality_as_qualifier_extension,
            physiotherapy_in_progress, mri_as_imaging_study, absolute_references, noise]


def as_pages(resources: Resources, size: int) -> dict[str, dict]:
    """The resources as prefetch keys, each a searchset page of at most `size` entries."""
    return {f"page{i}": {"resourceType": "Bundle", "type": "searchset",
                         "entry": [{"fullUrl": f"{BASE}/{r['resourceType']}/{r.get('id')}", "resource": r}
                                   for r in resources[i:i + size]]}
            for i in range(0, len(resources), size)}
