"""The patient record: every resource the prefetch data holds, by type, read as plain dicts.

Prefetch keys overlap (a client may send a Condition search and an Observation search that
both include the Patient), so resources are pooled and de-duplicated by type and id. Nothing
is validated into fhir.resources models here: that costs more than the whole request
(docs/architecture.md), and findings read only the few elements they need. Given the context
patient (an Owner), a resource that is not theirs is set aside here, with its reason
(data/ownership.py), whoever built the data: the service's own gathering or a workbench case.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping

from ..core import fhirjson
from .ownership import Owner, SetAside, set_aside


@dataclass
class PatientRecord:
    patient: dict | None
    resources: dict[str, list[dict]] = field(default_factory=dict)
    set_aside: list[SetAside] = field(default_factory=list)  # not the context patient's, and why

    def of_type(self, resource_type: str) -> list[dict]:
        return self.resources.get(resource_type, [])


def _resources_in(value: Mapping) -> Iterator[dict]:
    """A bare resource, or the entry resources of a Bundle (nested Bundles opened too).

    Entries with search.mode 'outcome' are the server's OperationOutcome notes, not data.
    """
    if value.get("resourceType") != "Bundle":
        yield value  # type: ignore[misc]
        return
    for entry in fhirjson.items(value.get("entry")):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or fhirjson.mapping(entry.get("search")).get("mode") == "outcome":
            continue
        yield from _resources_in(resource)


def build_record(data: Mapping[str, dict | None], owner: Owner | None = None) -> PatientRecord:
    """Pool the resources of every prefetch key; first copy of each type/id wins. With `owner`,
    only the context patient's resources count."""
    seen: set[tuple[str, str]] = set()
    resources: dict[str, list[dict]] = {}
    patient: dict | None = None
    aside: list[SetAside] = []
    for value in data.values():
        if not isinstance(value, dict):
            continue
        for resource in _resources_in(value):
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str) or rtype == "OperationOutcome":
                continue
            reason = owner.judge(resource) if owner is not None else None
            if reason is not None:
                aside.append(set_aside(resource, reason))
                continue
            rid = resource.get("id")
            if isinstance(rid, str):
                if (rtype, rid) in seen:
                    continue
                seen.add((rtype, rid))
            if rtype == "Patient":
                patient = patient or resource
                continue
            resources.setdefault(rtype, []).append(resource)
    return PatientRecord(patient=patient, resources=resources, set_aside=aside)
