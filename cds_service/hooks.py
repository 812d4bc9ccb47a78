"""The hook request and each hook's context as typed models.

Parsing is where a malformed call becomes a 400 that names the field, not a 500 further down.
Error messages carry field paths and reasons only: never the values sent, which may be patient data.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import fhirjson as fj, jsonin
from .errors import BadRequest
from .ownership import referenced_patient

NonEmpty = Field(min_length=1)


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str = NonEmpty
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str = NonEmpty
    subject: str = NonEmpty
    patient: str | None = None

    def __repr__(self) -> str:  # never let the token reach a log through a repr
        return "FhirAuthorization(access_token=<redacted>)"

    __str__ = __repr__


class _Context(BaseModel):
    model_config = ConfigDict(extra="allow")

    userId: str = Field(min_length=1, pattern=r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
    patientId: str = Field(min_length=1, pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    encounterId: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9\-.]{1,64}$")


class PatientViewContext(_Context):
    pass


class _OrderContext(_Context):
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
            if isinstance(resource, dict) and "id" in resource and not fj.is_id(resource["id"]):
                raise ValueError(f"entry[{i}].resource.id is not a FHIR id ([A-Za-z0-9-.], 1 to 64 characters)")
        return value

    @model_validator(mode="after")
    def _drafts_are_this_patients(self) -> "_OrderContext":
        for i, entry in enumerate(self.draftOrders.get("entry", [])):
            resource = entry.get("resource")
            if isinstance(resource, dict) and "subject" in resource:
                found = referenced_patient(fj.mapping(resource["subject"]).get("reference"))
                if found is not None and found != self.patientId:
                    raise ValueError(f"draftOrders.entry[{i}].resource.subject is not the context patient")
        return self

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


CONTEXTS: dict[str, type[_Context]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 service request. `prefetch` stays a raw dict: null and absent differ."""

    model_config = ConfigDict(extra="allow")

    hook: str = NonEmpty
    # A UUID per the spec; bounded so one odd client cannot break the issued-card bookkeeping.
    hookInstance: str = Field(min_length=1, max_length=128)
    fhirServer: str | None = Field(default=None, pattern=r"^https?://\S+$")
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> "HookRequest":
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self

    @property
    def access_token(self) -> str | None:
        return self.fhirAuthorization.access_token if self.fhirAuthorization else None


def _describe(error: ValidationError, prefix: str = "") -> str:
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        place = ".".join(str(p) for p in item["loc"])
        parts.append(f"{prefix}{place}: {item['msg']}" if place else f"{prefix}{item['msg']}")
    return "; ".join(parts)


def parse_request(body: bytes | str, hook: str) -> tuple[HookRequest, _Context]:
    """The request for a service registered on `hook`, or BadRequest saying what is wrong."""
    try:
        data = jsonin.loads(body)
    except jsonin.JsonError as exc:
        raise BadRequest(f"request body is {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    try:
        request = HookRequest.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_describe(exc)) from None
    if request.hook != hook:
        raise BadRequest(f"hook '{request.hook}' does not match this service's hook '{hook}'")
    try:
        context = CONTEXTS[hook].model_validate(request.context)
    except ValidationError as exc:
        raise BadRequest(_describe(exc, "context.")) from None
    return request, context


def user_tokens(user_id: str | None) -> Mapping[str, str]:
    """The four prefetch user tokens derived from context.userId (`Practitioner/abc` -> abc)."""
    names = {
        "Practitioner": "userPractitionerId",
        "PractitionerRole": "userPractitionerRoleId",
        "Patient": "userPatientId",
        "RelatedPerson": "userRelatedPersonId",
    }
    if not user_id or "/" not in user_id:
        return {}
    kind, _, ident = user_id.partition("/")
    return {names[kind]: ident} if kind in names else {}
