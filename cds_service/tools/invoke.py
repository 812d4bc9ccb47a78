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

from ..core import jsonin
from ..core.config import ConfigError
from ..core.settings import Settings
from ..core.urls import HttpUrl, UrlError, parse_base_url
from ..data.bundles import problem
from ..data.fhir import FetchError, FhirClient
from ..data.prefetch import substitute
from ..hooks.registry import HOOKS
from .terminal import show_cards


class Unreachable(ConfigError):
    """A URL given on the command line that cannot be reached: the operator's to fix, so the
    command line says it in one line (exit 2) instead of a stack of urllib3 frames."""


def why_unreachable(exc: requests.RequestException, timeout: float) -> str:
    """What went wrong reaching a URL, in words an operator can act on."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                        requests.exceptions.InvalidURL)):
        return "not an http(s) URL"
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text or "Failed to resolve" in text:
        return "host name not found"
    if "Connection refused" in text:
        return "connection refused: nothing listening there"
    return f"connection failed ({exc.__class__.__name__})"


def request(method: str, url: str, what: str, timeout: float, **kwargs: Any) -> requests.Response:
    """requests.request, or Unreachable naming `what` could not be reached and why."""
    try:
        return requests.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise Unreachable(f"cannot reach {what} ({why_unreachable(exc, timeout)})") from None


class Remote:
    """A running service over HTTP; each call signed with a fresh JWT when a key is given."""

    def __init__(self, base: str, signer: "Signer | None", timeout: float = 30.0):
        self.base = base.rstrip("/")
        self.signer = signer
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = self.base + path
        headers = {"Authorization": f"Bearer {self.signer.token(url)}"} if self.signer else {}
        response = request(method, url, f"the service at {self.base}", self.timeout, json=body, headers=headers)
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


class BadFhirAnswer(ConfigError):
    """The FHIR server named on the command line answered what cannot be used (a link off the
    server, a malformed Bundle): one line, exit 2."""


def fhir_base(fhir_server: str) -> HttpUrl:
    """The --fhir-server URL read by the service's one strict parser (core/urls.py)."""
    try:
        return parse_base_url(fhir_server)
    except UrlError as exc:
        raise BadFhirAnswer(f"--fhir-server is refused: {exc}") from None


def _read(client: FhirClient, url: str, key: str) -> dict[str, Any] | None:
    """A FHIR read through the service's own client (nothing off the server, no redirects
    followed, capped); None for 404/410, BadFhirAnswer for anything else that is not a
    well-formed resource."""
    where = f"{client.base.text} (prefetch {key!r})"
    try:
        reply = client.read(url)
    except FetchError as exc:
        raise BadFhirAnswer(f"{where}: {exc}") from None
    if reply.status in (404, 410):
        return None
    if reply.status != 200 or reply.body is None:
        raise BadFhirAnswer(f"{where}: {reply.reason or f'answered {reply.status}'}")
    malformed = problem(reply.body)
    if malformed:
        raise BadFhirAnswer(f"{where}: a malformed answer ({malformed})")
    return reply.body


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)


def build_prefetch(templates: dict[str, str], context: dict[str, Any], fhir_server: str, max_pages: int = 20,
                   timeout: float = 30.0) -> dict[str, Any]:
    """What an EHR would send: each template run against the FHIR server; nothing found -> null.
    The FHIR server is called through data/fhir.py's FhirClient, so a `next` link or a redirect
    off the named server is refused, never followed."""
    settings = Settings.from_env(fhir_connect_timeout=timeout, fhir_read_timeout=timeout)
    client = FhirClient(fhir_base(fhir_server), None, settings, budget=timeout * (len(templates) + 1) * max_pages)
    prefetch: dict[str, Any] = {}
    try:
        for key, template in templates.items():
            body = _read(client, substitute(template, context, context.get("userId")), key)
            if body is None or body.get("resourceType") != "Bundle":
                prefetch[key] = body
                continue
            entries, pages, link = list(body.get("entry", [])), 1, _next(body)
            while link and pages < max_pages:
                page = _read(client, link, key) or {}
                if page.get("resourceType") != "Bundle":
                    raise BadFhirAnswer(f"{client.base.text} (prefetch {key!r}): a next page is not a Bundle")
                entries += page.get("entry", [])
                link, pages = _next(page), pages + 1
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    finally:
        client.close()
    return prefetch


class BadDraft(ConfigError):
    """A --draft file that is not a FHIR Bundle or resource with ids: one line, exit 2."""


def _drafts(path: Path | None) -> dict[str, Any]:
    """The draft orders as a Bundle whose every entry is a resource with a type and an id."""
    if path is None:
        raise click.UsageError("order hooks need --draft FILE (a Bundle or a ServiceRequest)")
    try:
        data = jsonin.loads(path.read_bytes())
    except OSError as exc:
        raise BadDraft(f"{path}: not readable ({exc.__class__.__name__})") from None
    except jsonin.JsonError as exc:
        raise BadDraft(f"{path}: {exc}") from None
    malformed = problem(data)
    if malformed:
        raise BadDraft(f"{path}: not a FHIR Bundle or resource ({malformed})")
    bundle: dict[str, Any] = data if data["resourceType"] == "Bundle" else {
        "resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}
    for entry in bundle.get("entry", []):
        resource: dict[str, Any] = entry["resource"]
        if not isinstance(resource.get("id"), str) or not resource["id"]:
            raise BadDraft(f"{path}: every draft order needs an id (a {resource['resourceType']} has none)")
    return bundle


def check_patient(fhir_server: str, patient: str, timeout: float = 10.0) -> str | None:
    """Why the patient cannot be read from the FHIR server, or None: checked before any service
    call so that a typo in a URL or an id is named as such, not reported as missing cards.
    A server that cannot be reached at all is Unreachable."""
    base = fhir_base(fhir_server).text.rstrip("/")
    headers = {"Accept": "application/fhir+json"}
    metadata = request("GET", f"{base}/metadata", f"the FHIR server {base}", timeout, headers=headers)
    try:
        kind = metadata.json().get("resourceType")
    except ValueError:
        kind = None
    if metadata.status_code != 200 or kind != "CapabilityStatement":
        return f"{base} does not look like a FHIR server (GET /metadata gave {metadata.status_code}, no CapabilityStatement)"
    found = request("GET", f"{base}/Patient/{patient}", f"the FHIR server {base}", timeout, headers=headers)
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
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for the service and the FHIR server (connect and each read).")
def invoke(hook: str, fhir_server: str, patient: str, service: str | None, with_prefetch: bool, draft: Path | None,
           select: tuple[str, ...], user: str, encounter: str | None, key: Path | None, kid: str, iss: str,
           as_json: bool, timeout: float) -> None:
    """Call a CDS service for a patient on a FHIR server, as an EHR would, and show the cards.
    A service or FHIR server that cannot be reached ends it with one line and exit status 2."""
    console = Console()
    why = check_patient(fhir_server, patient, timeout)
    if why:
        console.print(f"[red]{why}[/red]")
        sys.exit(1)
    signer = Signer(key.read_bytes(), kid, iss) if key else None
    transport = Remote(service, signer, timeout) if service else InProcess(fhir_server)
    status, discovery = transport.call("GET", "/cds-services")
    if status != 200:
        _fail(console, status, discovery)
    if not isinstance(discovery, dict) or not isinstance(discovery.get("services"), list):
        raise click.ClickException(f"{service or 'the service'} is not a CDS Hooks service (no discovery at /cds-services)")
    entry = next((s for s in discovery["services"] if isinstance(s, dict) and s.get("hook") == hook), None)
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
    hook_call: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_server, "context": context}
    if with_prefetch:
        hook_call["prefetch"] = build_prefetch(entry.get("prefetch", {}), context, fhir_server, timeout=timeout)
    status, body = transport.call("POST", f"/cds-services/{entry['id']}", hook_call)
    if status != 200:
        _fail(console, status, body)
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        show_cards(console, body)
