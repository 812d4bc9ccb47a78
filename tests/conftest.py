"""Shared fixtures: a real FHIR server (sekmet-fhir, or FHIR_BASE_URL) and a throwaway PostgreSQL, once per session."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.fhir_server import SekmetServer
from tests.helpers.postgres import pg_bin, throwaway_postgres


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


# The fast subset (`pytest -m fast`, README): files chosen by measurement (pytest --durations) so
# the subset runs in under a minute on the 2-core development machine and touches every package
# of cds_service (tests/project/test_fast_subset.py checks that it does).
FAST = {
    "core/test_settings.py",
    "core/test_urls.py",
    "hooks/test_spec_examples.py",
    "hooks/test_adding_a_hook.py",
    "data/test_record_build.py",
    "data/test_partial_data.py",
    "engine/test_findings_conditions.py",
    "engine/test_ces_precision.py",
    "engine/test_order_hooks.py",
    "engine/test_context_routes.py",
    "engine/test_mimics.py",
    "engine/test_card_rules.py",
    "library/test_findings_library.py",
    "library/test_sources.py",
    "storage/test_feedback_store.py",
    "storage/test_storage.py",
    "web/test_protocol_surface.py",
    "web/test_response_rules.py",
    "web/test_auth_jwt.py",
    "workbench/test_workbench_explain.py",
    "tools/test_fixtures_cli.py",
    "scenarios/test_scenarios_fixtures.py",
    "scenarios/test_red_flag_cards.py",
    "project/test_architecture.py",
    "project/test_doc_links.py",
    "project/test_fast_subset.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        if item.path.relative_to(root).as_posix() in FAST:
            item.add_marker(pytest.mark.fast)


# ---- a throwaway PostgreSQL for the storage tests (Debian's postgresql server binaries) ----------
@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on a free port (Debian's postgresql package)."""
    bindir = pg_bin()
    if not bindir:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    with throwaway_postgres(bindir) as url:
        yield url


@pytest.fixture
def fresh_postgres(postgres_url):
    """An empty database of its own in the throwaway PostgreSQL cluster."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    return f"sqlite:///{tmp_path}/fb.db" if request.param == "sqlite" else request.getfixturevalue("fresh_postgres")


@pytest.fixture
def store_app(database_url):
    """The app in dev mode (no client authentication) over the database_url store: SQLite, then PostgreSQL."""
    return new_app(Settings(dev=True, auth_enabled=False, database_url=database_url))
