"""The hook request and each hook's context as typed models.

Parsing is where a malformed call becomes a 400 that names the field, not a 500 further down.
Error messages carry field paths and reasons only: never the values sent, which may be patient data.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..core import jsonin
from ..core.errors import BadRequest
from ..core.validation import describe
from .contexts import HookContext
from .registry import HOOKS

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


def parse_request(body: bytes | str, hook: str) -> tuple[HookRequest, HookContext]:
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
        raise BadRequest(describe(exc)) from None
    if request.hook != hook:
        raise BadRequest(f"hook '{request.hook}' does not match this service's hook '{hook}'")
    try:
        context = HOOKS[hook].context.model_validate(request.context)
    except ValidationError as exc:
        raise BadRequest(describe(exc, "context.")) from None
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
