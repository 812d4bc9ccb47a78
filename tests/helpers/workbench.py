"""Helpers for the workbench tests: a fixture as the hook request an EHR sends, and the service
running as a real HTTP server in a thread (for the browser)."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from werkzeug.serving import make_server

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from tests.helpers.apps import new_app
from tests.helpers.paths import FIXTURES


def hook_request(scenario_id: str, discovery: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(service id, request body): the scenario's context and every prefetch key filled from its
    own resources, as an EHR would send them."""
    scenario = load_scenario(FIXTURES, scenario_id, date.today())
    service = next(s for s in discovery["services"] if s["hook"] == scenario.request["hook"])
    resources = [e["resource"] for e in scenario.bundle["entry"]]
    prefetch: dict[str, Any] = {}
    for key, template in service["prefetch"].items():
        kind = template.split("/")[0].split("?")[0]
        if kind == "Patient":
            prefetch[key] = next(r for r in resources if r["resourceType"] == "Patient")
        else:
            entries = [{"resource": r} for r in resources if r["resourceType"] == kind]
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    body = {"hook": scenario.request["hook"], "hookInstance": scenario.request["hookInstance"],
            "context": scenario.request["context"], "prefetch": prefetch}
    return service["id"], body


def dev_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(dev=True, auth_enabled=False, workbench_enabled=True, log_level="WARNING",
                                  database_url=f"sqlite:///{tmp_path}/feedback.db")
    values.update(overrides)
    return Settings(**values)


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """The real app under werkzeug on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, new_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def fired_topics(report: dict[str, Any]) -> list[str]:
    """Topics of the rules an explanation says fired and showed a card, in rule order."""
    return [r["topic"] for r in report["rules"] if r["outcome"] == "fired" and not r.get("silent")]


def form_token(client: Any, **headers: str) -> str:
    """The csrf_token of the workbench's paste form, as a browser gets it (the test client keeps
    the cookie it is bound to)."""
    page = client.get("/workbench/", headers=headers).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the paste form carries a csrf_token"
    return found[1]
