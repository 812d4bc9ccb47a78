"""Only the context patient's data is used: a resource counts only when it names the context
patient in a way this service can check; anything else is set aside, with a reason.

A FHIR server or an EHR that answers with someone else's record (a proxy mix-up, a broken search
parameter) must never produce advice for this patient, and a resource that names no patient, or
names one in a form that cannot be checked, cannot be shown to be this patient's. A resource
counts when the element that names its patient (PATIENT_ELEMENT: Condition.subject,
AllergyIntolerance.patient, ...) is a Reference to the context patient:

- `Patient/<id>`, or `<fhirServer>/Patient/<id>` when the call names a fhirServer (with or
  without `_history/<version>`), read strictly (core.ids.literal); a Reference's `type`, when
  given, must be `Patient`;
- `urn:uuid:...` that is the fullUrl of the context Patient's entry in the data, or
  `urn:uuid:<id>` itself (Synthea writes the Patient's id as its uuid);
- an identifier (system and value) that the context Patient resource carries.

An Observation whose `focus` is not the patient is about someone or something else (R4).
Reasons are fixed phrases (never an id or a value), so logs can count them without naming anyone.
A prefetch key whose every resource is set aside says the source cannot be trusted for this
patient at all, and the caller refuses the call (412).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from ..core import fhirjson
from ..core.errors import BadRequest
from ..core.ids import is_fhir_id, literal

_SUBJECT = ("Condition", "Observation", "MedicationRequest", "MedicationStatement", "MedicationAdministration",
            "MedicationDispense", "ServiceRequest", "Procedure", "ImagingStudy", "DiagnosticReport", "CarePlan",
            "CareTeam", "Encounter", "DocumentReference", "Goal", "ClinicalImpression", "RiskAssessment",
            "Specimen", "DeviceRequest", "QuestionnaireResponse", "Media", "Communication", "Composition", "Flag")
_PATIENT = ("AllergyIntolerance", "Device", "Immunization", "FamilyMemberHistory", "NutritionOrder",
            "DetectedIssue", "Claim", "ExplanationOfBenefit")
# The element that names a resource's patient, per type (FHIR R4).
PATIENT_ELEMENT: Mapping[str, str] = {**dict.fromkeys(_SUBJECT, "subject"), **dict.fromkeys(_PATIENT, "patient")}
# Not about a patient at all: a Medication that an order names, who ordered it, where.
NOT_PATIENT_DATA = frozenset({"Medication", "Substance", "Practitioner", "PractitionerRole", "Organization", "Location"})

WRONG_TYPE = "not the resource type its prefetch key asks for"
BAD_ID = "id is not a FHIR id"
OTHER_PATIENT_RESOURCE = "a Patient other than the context patient"
NAMES_NO_PATIENT = "names no patient"
FOCUS_NOT_SUBJECT = "focus is not the patient (about someone or something else)"


@dataclass(frozen=True)
class SetAside:
    """A resource that does not count, and why; `id` may be anything the sender wrote, so these
    stay in-process (explain mode); logs get counts per reason."""

    resource_type: str
    id: str
    reason: str

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


def counts(set_aside: Iterable[SetAside]) -> dict[str, int]:
    """How many resources were set aside for each reason."""
    return dict(Counter(s.reason for s in set_aside))


def set_aside(resource: Mapping[str, Any], reason: str) -> SetAside:
    rtype, rid = resource.get("resourceType"), resource.get("id")
    return SetAside(rtype if isinstance(rtype, str) else "?", rid if isinstance(rid, str) else "?", reason)


def _server_base(url: str) -> tuple[str, str, int | None, str] | None:
    """scheme, host, port and path of a base URL, compared case-insensitively where URLs are."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def walk(values: Iterable[Any]) -> Iterator[tuple[dict, str | None]]:
    """Every resource in prefetch-shaped values (nested Bundles opened), with its entry's fullUrl."""
    for value in values:
        yield from _walk(value, None)


def _walk(value: Any, full_url: str | None) -> Iterator[tuple[dict, str | None]]:
    if not isinstance(value, dict):
        return
    if value.get("resourceType") != "Bundle":
        yield value, full_url
        return
    for entry in fhirjson.items(value.get("entry")):
        yield from _walk(entry.get("resource"), fhirjson.text(entry.get("fullUrl")))


class Owner:
    """The context patient, and every way a resource may name them (see the module docstring)."""

    def __init__(self, patient_id: str, data: Mapping[str, Any], fhir_server: str | None = None):
        self.patient_id = patient_id
        self.server = _server_base(fhir_server) if fhir_server else None
        self.full_urls: dict[str, dict] = {}
        # a fullUrl given to two different resources names neither: which one a reference meant
        # cannot be told, and the first one seen must not win (another patient's export could
        # reuse the context patient's uuid)
        self.ambiguous: set[str] = set()
        patient: dict | None = None
        for resource, full_url in walk(data.values()):
            if full_url:
                seen = self.full_urls.setdefault(full_url, resource)
                if (seen.get("resourceType"), seen.get("id")) != (resource.get("resourceType"), resource.get("id")):
                    self.ambiguous.add(full_url)
            if patient is None and resource.get("resourceType") == "Patient" and resource.get("id") == patient_id:
                patient = resource
        self.identifiers = {(fhirjson.text(i.get("system")), i["value"])
                            for i in fhirjson.items((patient or {}).get("identifier")) if isinstance(i.get("value"), str)}
        self.has_patient = patient is not None
        # a record names its patient the same way in nearly every resource: each way is read once
        self._read: dict[tuple[str, str], str | None] = {}

    def judge(self, resource: Mapping[str, Any]) -> str | None:
        """None when `resource` is the context patient's (or about no patient); else why not."""
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if "id" in resource and not is_fhir_id(rid):
            return BAD_ID
        if rtype == "Patient":
            return None if rid == self.patient_id else OTHER_PATIENT_RESOURCE
        element = PATIENT_ELEMENT.get(str(rtype)) or next((e for e in ("subject", "patient") if e in resource), None)
        if element is None:
            return None if rtype in NOT_PATIENT_DATA else NAMES_NO_PATIENT
        return self._reference(element, resource.get(element)) or self._focus(resource)

    def _focus(self, resource: Mapping[str, Any]) -> str | None:
        """R4 Observation.focus names what an Observation is about when that is not its subject
        (a relative, a fetus, a device): such an Observation is not the patient's own finding."""
        if "focus" not in resource:
            return None
        focus = resource["focus"]
        if not isinstance(focus, list) or any(self._reference("focus", f) is not None for f in focus):
            return FOCUS_NOT_SUBJECT
        return None

    def _reference(self, element: str, value: Any) -> str | None:
        if value is None:
            return f"{element} missing"
        if not isinstance(value, dict):
            return f"{element} is not a Reference"
        if value.get("type", "Patient") != "Patient":
            return f"{element}.type is not Patient"
        if "reference" in value:
            if not isinstance(value["reference"], str):
                return f"{element}.reference is not a string"
            # a Reference with both must name one patient by both
            return self._resolved(element, value["reference"]) or (
                self._identifier(element, value["identifier"]) if "identifier" in value else None)
        if "identifier" in value:
            return self._identifier(element, value["identifier"])
        return f"{element} {NAMES_NO_PATIENT}"

    def _resolved(self, element: str, reference: str) -> str | None:
        key = (element, reference)
        if key not in self._read:
            self._read[key] = self._resolve(element, reference)
        return self._read[key]

    def _resolve(self, element: str, reference: str) -> str | None:
        if reference.startswith("urn:uuid:"):
            if reference in self.ambiguous:
                return f"{element} names a fullUrl given to more than one resource"
            target = self.full_urls.get(reference)
            if target is None:
                return None if reference == f"urn:uuid:{self.patient_id}" else f"{element} cannot be resolved"
            ours = target.get("resourceType") == "Patient" and target.get("id") == self.patient_id
            return None if ours else f"{element} names another patient"
        found = literal(reference)
        if found is None:
            return f"{element} is not a valid reference"
        if found.base is not None:
            if self.server is None:
                return f"{element} is absolute and the request names no fhirServer"
            if "@" in found.base or _server_base(found.base) != self.server:  # user info: not the base as written
                return f"{element} is on another FHIR server"
        if found.type != "Patient" or found.id != self.patient_id:
            return f"{element} names another patient"
        return None

    def _identifier(self, element: str, identifier: Any) -> str | None:
        ident = fhirjson.mapping(identifier)
        value = fhirjson.text(ident.get("value"))
        if value is None:
            return f"{element} {NAMES_NO_PATIENT}"
        if not self.has_patient:
            return f"{element} cannot be resolved"
        if (fhirjson.text(ident.get("system")), value) in self.identifiers:
            return None
        return f"{element}.identifier is not the patient's"


def check_drafts(draft_orders: Any, owner: Owner) -> None:
    """An order hook's draft orders must be the context patient's, judged as every resource is: the
    EHR asks about this patient's orders, so a draft of anyone else is a wrong request (400), and
    its reasonCode must never stand in as this patient's condition. A draft that leaves its
    subject out is the context patient's: the hook's context says whose orders these are."""
    for i, entry in enumerate(fhirjson.items(fhirjson.mapping(draft_orders).get("entry"))):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        # whichever patient element a draft carries (R4's, or a `patient` it should not have) must
        # be the context patient: a draft naming someone else anywhere is not this patient's order
        for element in dict.fromkeys((PATIENT_ELEMENT.get(str(resource.get("resourceType")), "subject"), "subject", "patient")):
            if element in resource and (reason := owner._reference(element, resource[element])) is not None:
                raise BadRequest(f"draftOrders.entry[{i}].resource is not the context patient's ({reason})")


def expected_type(template: str) -> str:
    """The resourceType a prefetch template asks for: `Condition?patient=..` or `Patient/{{..}}`."""
    return template.split("?", 1)[0].split("/", 1)[0]


def included_types(template: str) -> frozenset[str]:
    """Types a template's `_include`s bring along (`MedicationRequest:medication` -> Medication,
    or the explicit target of `X:param:Target`): a client's prefetch may carry them without
    marking them search.mode = include."""
    found = set()
    for param in template.split("?", 1)[-1].split("&"):
        name, _, value = param.partition("=")
        if name == "_include" and value.count(":") >= 1:
            parts = value.split(":")
            found.add(parts[2] if len(parts) > 2 else parts[1][:1].upper() + parts[1][1:])
    return frozenset(found)
