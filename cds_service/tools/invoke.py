"""`nerve-cds invoke`: act as an EHR. Read discovery, build prefetch from the service's own
templates if asked, send the hook (signed with a JWT when given a key), show the cards."""
from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import click
import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from rich.console import Console

from ..core.settings import Settings
from ..data.prefetch import substitute
from ..hooks.registry import HOOKS
from .terminal import show_cards


class Remote:
    """A running service over HTTP; each call signed with a fresh JWT when a key is given."""

    def __init__(self, base: str, signer: "Signer | None"):
        self.base = base.rstrip("/")
        self.signer = signer

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = self.base + path
        headers = {"Authorization": f"Bearer {self.signer.token(url)}"} if self.signer else {}
        response = requests.request(method, url, json=body, headers=headers, timeout=30)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None


class InProcess:
    """The service in this process, in dev mode, allowed to reach the given FHIR server."""

    def __init__(self, fhir_server: str):
        from ..web.app import create_app

        self._tmp = tempfile.TemporaryDirectory()
        settings = Settings.from_env(dev=True, auth_enabled=False, fhir_allowlist=(fhir_server,), log_level="WARNING",
                                     database_url=f"sqlite:///{self._tmp.name}/feedback.db")
        self.client = create_app(settings).test_client()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.open(path, method=method, json=body)
        return response.status_code, response.get_json(silent=True)


class Signer:
    """CDS Hooks client JWTs: ES384 for an EC key, RS384 for an RSA key."""

    def __init__(self, pem: bytes, kid: str, iss: str):
        key = serialization.load_pem_private_key(pem, password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            self.alg = "ES384"
        elif isinstance(key, rsa.RSAPrivateKey):
            self.alg = "RS384"
        else:
            raise click.BadParameter("the key must be an EC or RSA private key (PEM)")
        self.key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = key
        self.kid, self.iss = kid, iss

    def token(self, audience: str) -> str:
        now = int(time.time())
        claims = {"iss": self.iss, "aud": audience, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid, "typ": "JWT"})


def build_prefetch(templates: dict[str, str], context: dict[str, Any], fhir_server: str, max_pages: int = 20) -> dict[str, Any]:
    """What an EHR would send: each template run against the FHIR server; nothing found -> null."""
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        url = f"{fhir_server.rstrip('/')}/{substitute(template, context, context.get('userId'))}"
        response = requests.get(url, headers={"Accept": "application/fhir+json"}, timeout=30)
        if response.status_code == 404:
            prefetch[key] = None
            continue
        response.raise_for_status()
        body = response.json()
        if body.get("resourceType") == "Bundle":
            entries, pages = list(body.get("entry", [])), 1
            nxt = next((l["url"] for l in body.get("link", []) if l.get("relation") == "next"), None)
            while nxt and pages < max_pages:
                page = requests.get(nxt, headers={"Accept": "application/fhir+json"}, timeout=30).json()
                entries += page.get("entry", [])
                nxt = next((l["url"] for l in page.get("link", []) if l.get("relation") == "next"), None)
                pages += 1
            body = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
            prefetch[key] = body if entries else None
        else:
            prefetch[key] = body
    return prefetch


def _drafts(path: Path | None) -> dict[str, Any]:
    if path is None:
        raise click.UsageError("order hooks need --draft FILE (a Bundle or a ServiceRequest)")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("resourceType") == "Bundle":
        return data
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}


def check_patient(fhir_server: str, patient: str) -> str | None:
    """Why the patient cannot be read from the FHIR server, or None: checked before any service
    call so that a typo in a URL or an id is named as such, not reported as missing cards."""
    base = fhir_server.rstrip("/")
    headers = {"Accept": "application/fhir+json"}
    try:
        metadata = requests.get(f"{base}/metadata", headers=headers, timeout=10)
    except requests.RequestException as exc:
        return f"cannot reach the FHIR server {base} ({exc.__class__.__name__})"
    try:
        kind = metadata.json().get("resourceType")
    except ValueError:
        kind = None
    if metadata.status_code != 200 or kind != "CapabilityStatement":
        return f"{base} does not look like a FHIR server (GET /metadata gave {metadata.status_code}, no CapabilityStatement)"
    try:
        found = requests.get(f"{base}/Patient/{patient}", headers=headers, timeout=10)
    except requests.RequestException as exc:
        return f"cannot read Patient/{patient} from {base} ({exc.__class__.__name__})"
    if found.status_code in (404, 410):
        return f"no Patient/{patient} on {base}"
    if found.status_code != 200:
        return f"reading Patient/{patient} from {base} gave {found.status_code}"
    return None


def _fail(console: Console, status: int, body: Any) -> None:
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        detail = "; ".join(i.get("diagnostics", i.get("code", "")) for i in body.get("issue", []))
    else:
        detail = "unauthorised (the service needs a JWT: --key, --kid, --iss)" if status == 401 else "no details"
    console.print(f"[red]The service answered {status}: {detail}[/red]")
    sys.exit(1)


@click.command()
@click.argument("hook", type=click.Choice(list(HOOKS)))
@click.option("--fhir-server", required=True, help="FHIR R4 base URL holding the patient.")
@click.option("--patient", required=True, help="Patient id on that server.")
@click.option("--service", help="Base URL of a running nerve-cds (default: the service in this process).")
@click.option("--prefetch", "with_prefetch", is_flag=True, help="Send prefetch built from the service's templates.")
@click.option("--draft", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Draft orders (order hooks).")
@click.option("--select", multiple=True, help="ResourceType/id of a selected draft (order-select; default: all).")
@click.option("--user", default="Practitioner/nerve-cds-cli", show_default=True)
@click.option("--encounter", help="Encounter id for the context.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM private key to sign JWTs.")
@click.option("--kid", default="nerve-cds-cli", show_default=True)
@click.option("--iss", default="https://nerve-cds-cli.local", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the raw response.")
def invoke(hook: str, fhir_server: str, patient: str, service: str | None, with_prefetch: bool, draft: Path | None,
           select: tuple[str, ...], user: str, encounter: str | None, key: Path | None, kid: str, iss: str,
           as_json: bool) -> None:
    """Call a CDS service for a patient on a FHIR server, as an EHR would, and show the cards."""
    console = Console()
    problem = check_patient(fhir_server, patient)
    if problem:
        console.print(f"[red]{problem}[/red]")
        sys.exit(1)
    signer = Signer(key.read_bytes(), kid, iss) if key else None
    transport = Remote(service, signer) if service else InProcess(fhir_server)
    status, discovery = transport.call("GET", "/cds-services")
    if status != 200:
        _fail(console, status, discovery)
    entry = next((s for s in discovery["services"] if s["hook"] == hook), None)
    if entry is None:
        raise click.UsageError(f"the service offers no {hook} service")
    context: dict[str, Any] = {"userId": user, "patientId": patient}
    if encounter:
        context["encounterId"] = encounter
    if HOOKS[hook].drafts != "none":
        context["draftOrders"] = _drafts(draft)
        if HOOKS[hook].drafts == "selected":
            ids = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in context["draftOrders"].get("entry", [])]
            context["selections"] = list(select) or ids
    request: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_server, "context": context}
    if with_prefetch:
        request["prefetch"] = build_prefetch(entry.get("prefetch", {}), context, fhir_server)
    status, body = transport.call("POST", f"/cds-services/{entry['id']}", request)
    if status != 200:
        _fail(console, status, body)
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        show_cards(console, body)
