"""Shared fixtures: a real FHIR server (sekmet-fhir, or FHIR_BASE_URL) for the whole session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sekmet import SekmetServer  # noqa: E402


@pytest.fixture(scope="session")
def fhir_base_url():
    """Base URL of a real R4 server: FHIR_BASE_URL if set (e.g. a local HAPI), else sekmet-fhir."""
    external = os.environ.get("FHIR_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    server = SekmetServer().start()
    try:
        yield server.base_url
    finally:
        server.stop()
