"""Analyst walk m10 (issue #21): a browser's first request carries no credential and gets the
HTTP Basic challenge; that is the normal way in, not a WARNING. A wrong credential still is."""
from __future__ import annotations

import base64
import logging

from tests.helpers.apps import new_app
from tests.helpers.workbench import dev_settings

TOKEN = "workbench-token-for-challenge-tests-012345"


def test_the_basic_challenge_is_not_a_warning_but_a_wrong_credential_is(tmp_path, caplog):
    client = new_app(dev_settings(tmp_path, workbench_token=TOKEN)).test_client()
    caplog.set_level(logging.INFO, logger="nerve_cds.workbench")
    challenged = client.get("/workbench/")
    assert challenged.status_code == 401 and "WWW-Authenticate" in challenged.headers
    records = [r for r in caplog.records if r.name == "nerve_cds.workbench"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.INFO, "workbench credential asked for")]
    caplog.clear()
    wrong = base64.b64encode(b"dr-a:not-the-token").decode()
    assert client.get("/workbench/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    records = [r for r in caplog.records if r.name == "nerve_cds.workbench"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.WARNING, "workbench credential refused")]
