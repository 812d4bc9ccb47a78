"""Card detail Markdown to HTML, as an EHR would show it, safely: raw HTML in the text is
escaped, not passed through, and links with unsafe schemes (javascript:, data: ...) are dropped."""
from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def to_html(text: str) -> Markup:
    return Markup(_MD.render(text or ""))
