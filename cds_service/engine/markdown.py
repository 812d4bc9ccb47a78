"""Text from a request or a FHIR record, made inert before it goes into a card's Markdown detail.

A draft's display or a coding's display is whatever the sender typed: it must render as the
same words, never as a link, image, HTML or emphasis. Markdown punctuation is backslash-escaped;
what GitHub-flavoured renderers turn into links without any punctuation (bare URLs, www., e-mail
addresses) is broken up with a zero-width space, which renders as nothing.
"""
from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
ZERO_WIDTH_SPACE = "\u200b"


def inline(text: str) -> str:
    """`text` as literal inline Markdown: one line, no markup, no live links."""
    flat = _BREAKS.sub(" ", text)
    return _AUTOLINK.sub(ZERO_WIDTH_SPACE, _PUNCTUATION.sub(r"\\\1", flat))
