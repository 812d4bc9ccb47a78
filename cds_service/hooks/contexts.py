"""Each hook's context as a typed model: a malformed context is a 400 naming the field."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core.ids import FHIR_ID, RELATIVE_REFERENCE, is_fhir_id


class HookContext(BaseModel):
    model_config = ConfigDict(extra="allow")

    userId: str = Field(min_length=1, pattern=RELATIVE_REFERENCE)
    patientId: str = Field(min_length=1, pattern=FHIR_ID)
    encounterId: str | None = Field(default=None, min_length=1, pattern=FHIR_ID)


class PatientViewContext(HookContext):
    pass


class _OrderContext(HookContext):
    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _is_bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("must be a FHIR Bundle")
        entries = value.get("entry", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("entry must be a list of Bundle entries")
        for i, entry in enumerate(entries):
            resource = entry.get("resource")
            if isinstance(resource, dict) and "id" in resource and not is_fhir_id(resource["id"]):
                raise ValueError(f"entry[{i}].resource.id is not a FHIR id ([A-Za-z0-9-.], 1 to 64 characters)")
        return value

    def draft_keys(self) -> set[str]:
        """`ResourceType/id` of every draft that has an id."""
        keys = set()
        for entry in self.draftOrders.get("entry", []):
            resource = entry.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") and resource.get("id"):
                keys.add(f"{resource['resourceType']}/{resource['id']}")
        return keys


class OrderSelectContext(_OrderContext):
    selections: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _selections_in_drafts(self) -> "OrderSelectContext":
        missing = [s for s in self.selections if s not in self.draft_keys()]
        if missing:
            raise ValueError(f"{len(missing)} selection(s) not found in draftOrders as ResourceType/id")
        return self


class OrderSignContext(_OrderContext):
    pass
