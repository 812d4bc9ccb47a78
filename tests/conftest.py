"""Shared fixtures: a real FHIR server (sekmet-fhir, or FHIR_BASE_URL) for the whole session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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


# Fuzz tests (test_fuzz_endpoints.py): derandomized so a CI failure reproduces on any machine;
# no example database and no per-example deadline (the machine may be shared and slow).
settings.register_profile("nerve-cds", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "nerve-cds"))
