"""The patient record: one walk over everything gathered, deciding for each resource whether it
counts, and pooling what does by type, as plain dicts.

The walk does in one pass what a hook call needs before the engine reads anything: the ownership
screen (data/ownership.py: only the context patient's resources count, and a resource of the wrong
type for its prefetch key does not count either), de-duplication (prefetch keys overlap: a
Condition search and an Observation search may both include the Patient; the first copy of each
type/id wins), and the Medications that orders name but no key holds (data/medrefs.py). Nothing is
validated into fhir.resources models: that costs more than the whole request
(docs/architecture.md), and findings read only the few elements they need.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping

from ..core import fhirjson
from .medrefs import open_reference
from .ownership import WRONG_TYPE, Owner, SetAside, expected_type, included_types, set_aside

_ORDERS = ("MedicationRequest", "MedicationStatement")


@dataclass
class PatientRecord:
    patient: dict | None
    resources: dict[str, list[dict]] = field(default_factory=dict)
    set_aside: list[SetAside] = field(default_factory=list)  # not the context patient's, and why
    # prefetch keys with nothing of this patient's left in them, and why: the call is refused (412)
    wrong_keys: dict[str, str] = field(default_factory=dict)
    # per prefetch key, the `Medication/<id>` its orders name that no key holds
    open_medications: dict[str, set[str]] = field(default_factory=dict)
    # views the engine derives from the resources once per record (engine/coded.py)
    derived: dict[tuple, Any] = field(default_factory=dict, repr=False)
    _seen: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def of_type(self, resource_type: str) -> list[dict]:
        return self.resources.get(resource_type, [])

    def add(self, resource: dict) -> None:
        """Pool a resource that counts; a second copy of a type/id is dropped."""
        rtype, rid = resource["resourceType"], resource.get("id")
        if isinstance(rid, str):
            if (rtype, rid) in self._seen:
                return
            self._seen.add((rtype, rid))
        if rtype == "Patient":
            self.patient = self.patient or resource
        else:
            self.resources.setdefault(rtype, []).append(resource)

    def with_added(self, resources: Iterable[dict], owner: Owner | None) -> PatientRecord:
        """A copy with more resources (judged like the rest), leaving this record as it was: a
        gathered record is read by the live and the shadow library alike."""
        copy = replace(self, resources={t: list(r) for t, r in self.resources.items()}, set_aside=list(self.set_aside),
                       derived={}, _seen=set(self._seen))
        for resource in resources:
            reason = owner.judge(resource) if owner is not None else None
            if reason is None:
                copy.add(resource)
            else:
                copy.set_aside.append(set_aside(resource, reason))
        return copy


def _resources_in(value: Mapping) -> Iterator[tuple[dict, bool]]:
    """A bare resource, or the entry resources of a Bundle (nested Bundles opened), each with
    whether its entry marks it as included. Entries with search.mode 'outcome' are the server's
    OperationOutcome notes, not data."""
    if value.get("resourceType") != "Bundle":
        yield value, False  # type: ignore[misc]
        return
    for entry in fhirjson.items(value.get("entry")):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        mode = fhirjson.mapping(entry.get("search")).get("mode")
        if mode == "outcome":
            continue
        if resource.get("resourceType") == "Bundle":
            yield from _resources_in(resource)
        else:
            yield resource, mode == "include"


def build_record(data: Mapping[str, dict | None], owner: Owner | None = None,
                 templates: Mapping[str, str] | None = None) -> PatientRecord:
    """Pool the resources of every prefetch key. With `owner`, only the context patient's count;
    with `templates`, only those of the type each key asks for (and what its `_include`s bring),
    and a key left with none of its type is named in `wrong_keys`."""
    record = PatientRecord(patient=None)
    for key, value in data.items():
        if not isinstance(value, dict):
            continue
        template = (templates or {}).get(key)
        wanted = expected_type(template) if template else None
        extra = included_types(template) if template else frozenset()
        kept: list[dict] = []
        dropped = usable = 0
        for resource, included in _resources_in(value):
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str) or rtype == "OperationOutcome":
                continue
            if wanted is not None and rtype != wanted and not included and rtype not in extra:
                reason: str | None = WRONG_TYPE
            else:
                reason = owner.judge(resource) if owner is not None else None
            if reason is not None:
                record.set_aside.append(set_aside(resource, reason))
                dropped += 1
                continue
            kept.append(resource)
            usable += rtype == wanted
        if wanted is not None and dropped and not usable:
            record.wrong_keys[key] = f"nothing in it is a {wanted} of this patient"
            continue  # what the key's search brought along is not had either
        if wanted is not None and "?" not in template and not usable:  # type: ignore[operator]
            record.wrong_keys[key] = f"it holds no {wanted}"  # a read answered with an empty Bundle
        for resource in kept:
            record.add(resource)
            if resource["resourceType"] in _ORDERS and (ref := open_reference(resource)):
                record.open_medications.setdefault(key, set()).add(ref)
    known = {f"Medication/{m.get('id')}" for m in record.of_type("Medication")}
    record.open_medications = {k: left for k, refs in record.open_medications.items() if (left := refs - known)}
    return record
