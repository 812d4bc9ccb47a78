"""The workbench reads a patient from a FHIR server the way a hook call does: only a server on the
allowlist, over https unless the operator allows plain http, parsed by the same strict check.
On the command line the operator names the server, which is then the one allowed."""
from __future__ import annotations

import base64

from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.tools.cli import main
from tests.helpers.apps import SERVING, new_app
from tests.helpers.fault_servers import ByPath, Bystander
from tests.helpers.tokens import Issuer, write_trust_file
from tests.helpers.workbench import dev_settings

PID = "wb-url-1"
TOKEN = "s3cret-token"
ANSWERS = {"Patient/": {"resourceType": "Patient", "id": PID, "birthDate": "1970-01-01"}}


def production(tmp_path, **overrides):
    values = dict(database_url=f"sqlite:///{tmp_path}/fb.db", workbench_enabled=True, workbench_token=TOKEN,
                  trust_file=write_trust_file(tmp_path, {"issuer": Issuer("https://ehr.example.org")}),
                  fhir_connect_timeout=0.5, fhir_read_timeout=1.0, log_level="WARNING", **SERVING)
    values.update(overrides)
    return new_app(Settings(**values)).test_client()


def explain(client, fhir_server):
    password = base64.b64encode(f"analyst:{TOKEN}".encode()).decode()
    return client.get("/workbench/explain", query_string={"fhir_server": fhir_server, "patient": PID},
                      headers={"Authorization": f"Basic {password}"})


def test_a_server_not_on_the_allowlist_is_never_contacted(tmp_path):
    with Bystander() as elsewhere:
        client = production(tmp_path, fhir_allowlist=("https://ehr.example.org/fhir",), fhir_allow_http=True)
        page = explain(client, f"http://127.0.0.1:{elsewhere.port}/fhir")
        assert elsewhere.seen == []
    assert page.status_code == 400 and "allowlist" in page.get_data(as_text=True)


def test_plain_http_outside_dev_mode_only_when_the_operator_allows_it(tmp_path):
    with ByPath(ANSWERS) as server:
        refused = explain(production(tmp_path, fhir_allowlist=(server.base_url,)), server.base_url)
        assert server.count == 0
        assert refused.status_code == 400 and "https" in refused.get_data(as_text=True)
        allowed = explain(production(tmp_path, fhir_allowlist=(server.base_url,), fhir_allow_http=True), server.base_url)
        assert server.count > 0
    assert allowed.status_code == 200, allowed.get_data(as_text=True)[:500]


def test_a_confusable_url_is_refused_in_dev_mode_too(tmp_path):
    with ByPath(ANSWERS) as server, Bystander() as elsewhere:
        client = new_app(dev_settings(tmp_path, fhir_allowlist=(server.base_url,))).test_client()
        page = explain(client, f"http://127.0.0.1:{elsewhere.port}\\@127.0.0.1:{server.port}/fhir")
        assert elsewhere.seen == [] and server.count == 0
    assert page.status_code == 400 and "backslash" in page.get_data(as_text=True)


def test_the_command_line_allows_the_server_it_names_but_still_checks_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("NERVE_CDS_DATABASE_URL", f"sqlite:///{tmp_path}/fb.db")
    with ByPath(ANSWERS) as server, Bystander() as elsewhere:
        named = CliRunner().invoke(main, ["explain", "--fhir-server", server.base_url, "--patient", PID, "--json"])
        assert named.exit_code == 0, named.output
        confusable = f"http://127.0.0.1:{elsewhere.port}\\@127.0.0.1:{server.port}/fhir"
        refused = CliRunner().invoke(main, ["explain", "--fhir-server", confusable, "--patient", PID])
        assert elsewhere.seen == []
    assert refused.exit_code == 1 and "backslash" in refused.output
