"""CORS for browser-based CDS clients: configured origins only (none by default, `*` in dev mode)."""
from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from ..core.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    origins = list(settings.cors_origins) or (["*"] if settings.dev else [])
    if not origins:
        return
    CORS(
        app,
        resources={r"/cds-services*": {"origins": origins}},
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
