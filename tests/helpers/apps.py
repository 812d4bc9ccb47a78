"""The shipped card library, loaded and checked once per test session, and apps that reuse it.

Loading the library is the slowest part of create_app, and most tests make an app of their own
with the shipped cards unchanged. A test that copies or edits cards gets its library loaded from
its own cards_dir as before: new_app reuses the shipped one only when the settings read it.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask

from cds_service.core.settings import Settings
from cds_service.library.loader import Library, load_library
from cds_service.web.app import create_app

# What an app that authenticates its clients, or runs outside dev mode, must be given
# (Settings.serving_problems): the base URL Flask's test client calls, and a card-uuid key.
SERVING = {"public_base_url": "http://localhost", "card_id_key": "k" * 32}


@cache
def shipped_library(canonical_base: str = "") -> Library:
    """The library in the shipped cards/ (where Settings() finds it), under `canonical_base`."""
    return load_library(Settings().cards_dir, canonical_base)


def new_app(settings: Settings, clock: Any = None) -> Flask:
    """create_app(settings, clock), with shipped_library() when settings.cards_dir is the shipped one
    and no site layer is laid over it."""
    shipped = settings.cards_dir.resolve() == Settings().cards_dir.resolve() and settings.site_dir is None
    return create_app(settings, clock, library=shipped_library(settings.canonical_base) if shipped else None)
