"""The CDS Hooks 2.0 response as typed models, and the spec's rules checked before anything is sent.

A response that breaks the spec is a bug in this service: it is logged and answered 500, so an
EHR never acts on a half-valid card.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..core.ids import RELATIVE_REFERENCE


class _Strict(BaseModel):
    # The service sends only members the spec defines: an unknown one is a bug here, refused.
    # Null and empty members are refused separately, by `_no_empty`, over the whole payload.
    model_config = ConfigDict(extra="forbid")


class Coding(_Strict):
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = Field(default=None, min_length=1)


class OverrideReason(Coding):
    display: str = Field(min_length=1)


class Source(_Strict):
    label: str = Field(min_length=1)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    icon: str | None = Field(default=None, pattern=r"^https?://\S+$")
    topic: Coding | None = None


class Action(_Strict):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = Field(default=None, pattern=RELATIVE_REFERENCE)

    @model_validator(mode="after")
    def _shape(self) -> "Action":
        if self.type == "delete":
            if not self.resourceId or self.resource is not None:
                raise ValueError("a delete action carries resourceId and no resource")
        else:
            if not self.resource or not self.resource.get("resourceType"):
                raise ValueError(f"a {self.type} action carries a FHIR resource")
            if self.type == "update" and not self.resource.get("id"):
                raise ValueError("an update action carries the whole resource with its id")
        return self


_ORDER = {"delete": 0, "create": 1, "update": 2}


class Suggestion(_Strict):
    label: str = Field(min_length=1)
    uuid: str = Field(min_length=1)
    isRecommended: bool | None = None
    actions: list[Action] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _transaction_order(self) -> "Suggestion":
        kinds = [_ORDER[a.type] for a in self.actions or []]
        if kinds != sorted(kinds):
            raise ValueError("actions must follow transaction order: delete, create, update")
        return self


class Link(_Strict):
    label: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")
    type: Literal["absolute", "smart"]
    appContext: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _app_context_only_on_smart(self) -> "Link":
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links")
        return self


class Card(_Strict):
    uuid: str = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=139)
    detail: str | None = Field(default=None, min_length=1)
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[OverrideReason] | None = Field(default=None, min_length=1)
    links: list[Link] | None = Field(default=None, min_length=1)
    extension: dict[str, Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _selection(self) -> "Card":
        if self.suggestions and not self.selectionBehavior:
            raise ValueError("selectionBehavior is required when there are suggestions")
        if self.selectionBehavior and not self.suggestions:
            raise ValueError("selectionBehavior without suggestions")
        if self.selectionBehavior == "at-most-one":
            if sum(1 for s in self.suggestions or [] if s.isRecommended) > 1:
                raise ValueError("at-most-one allows at most one recommended suggestion")
        return self


class Response(_Strict):
    cards: list[Card]
    systemActions: list[Action] | None = Field(default=None, min_length=1)


class ResponseError(ValueError):
    """The response breaks a CDS Hooks rule; the message names the place and the rule."""


def _empty(item: Any) -> bool:
    return item is None or (not item and isinstance(item, (str, list, dict)))


def _holds_empty(value: Any) -> bool:
    """Whether any member below `value` is null, "", [] or {}: the check every response gets,
    naming no place (building a name per member cost half of the whole check)."""
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return False
    for item in value:
        if isinstance(item, (dict, list)):
            if not item or _holds_empty(item):
                return True
        elif item is None or item == "":
            return True
    return False


def _no_empty(value: Any, place: str) -> None:
    """The spec's JSON rule: no member may be null, "", [] or {} (except the top-level cards list).
    Walked only for a response _holds_empty found wanting, to name the place."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{place}.{key}" if place else key
            if _empty(item) and here != "cards":
                raise ResponseError(f"{here}: null or empty members are not allowed")
            _no_empty(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if _empty(item):
                raise ResponseError(f"{place}[{i}]: null or empty members are not allowed")
            _no_empty(item, f"{place}[{i}]")


def check_response(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload unchanged if it keeps every CDS Hooks 2.0 rule; ResponseError otherwise."""
    if _holds_empty(payload):  # or only the top-level cards list is empty, which is allowed
        _no_empty(payload, "")
    try:
        Response.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ResponseError(f"{place}: {first['msg']}") from None
    uuids = [c["uuid"] for c in payload["cards"]]
    uuids += [s["uuid"] for c in payload["cards"] for s in c.get("suggestions", [])]
    if len(uuids) != len(set(uuids)):
        raise ResponseError("card and suggestion uuids must be unique")
    return payload
