"""A CDS Hooks feedback request body, read into the items the feedback store takes
(storage/feedback.py): a 400 or 413 names what is wrong, before anything is stored."""
from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError

from ..core import jsonin
from ..core.errors import BadRequest, PayloadTooLarge
from ..core.validation import describe
from ..storage.feedback import FeedbackItem


class _Body(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1)


def parse_feedback(body: bytes, max_items: int) -> list[FeedbackItem]:
    """The request's items; more than `max_items` is a 413 before any item is read."""
    try:
        data = jsonin.loads(body)
    except jsonin.JsonError as exc:
        raise BadRequest(f"feedback body is {exc}") from None
    items = data.get("feedback") if isinstance(data, dict) else None
    if isinstance(items, list) and len(items) > max_items:
        raise PayloadTooLarge(f"feedback has {len(items)} items; at most {max_items} are taken in one request "
                              "(send the rest in further requests); nothing was stored")
    try:
        return _Body.model_validate(data).feedback
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from None
