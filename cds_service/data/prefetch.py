"""Prefetch exactly as CDS Hooks 2.0 defines it, with the service fetching what the client did not.

A key the client left out, answered with an OperationOutcome or a failed search (an error
OperationOutcome only, a non-2xx entry), or answered with a searchset whose `total` says it holds
fewer entries than it matched (and no next page), is fetched; a key set to null
means the client looked and found nothing, so it is not fetched again. A required key that cannot
be had is a 412; an optional one is left out and named in `sources` as failed. All fetches of one call go
to the FHIR server in one batch round trip; searchset `next` links are followed up to a cap, and a key
cut off there (or by the deadline, or sent as a first page without its next link) is "partial": the
rules run on what was read and the cards say what was left out. A value
of the wrong shape, sent or fetched (data/bundles.py), counts as not had; a resource that is not the
context patient's is set aside (data/ownership.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Mapping, Sequence
from urllib.parse import quote

from ..core import fhirjson
from ..core.errors import PreconditionFailed
from ..core.settings import Settings
from ..hooks.requests import user_tokens
from . import medrefs
from .bundles import problem
from .fhir import FetchError, FhirClient, OutOfTime, ServerNotAllowed, check_server
from .ownership import Owner, SetAside, check_drafts
from .record import PatientRecord, build_record

MEDICATIONS_KEY = "referencedMedications"  # not a template key: Medications read for open references
TOKEN = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


class TokenError(ValueError):
    """A template names a token this request cannot fill."""


@dataclass
class Gathered:
    data: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # sent | fetched | null | failed | partial | wrong
    round_trips: int = 0
    set_aside: list[SetAside] = field(default_factory=list)  # resources of another or no checkable patient, wrong type
    owner: Owner | None = None  # who the data was judged to be about (the engine judges by the same)
    # what counts of `data`, pooled: what the engine reads
    record: PatientRecord = field(default_factory=lambda: PatientRecord(patient=None))


def substitute(template: str, context: Mapping[str, Any], user_id: str | None) -> str:
    """Fill {{context.x}} (root-level primitive fields only) and the four user tokens."""
    users = user_tokens(user_id)

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("context."):
            value = context.get(name[len("context."):])
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise TokenError(f"token {{{{{name}}}}} has no primitive value in this context")
        elif name in users:
            value = users[name]
        else:
            raise TokenError(f"token {{{{{name}}}}} cannot be filled for this user")
        return quote(str(value), safe="")

    return TOKEN.sub(fill, template)


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in fhirjson.items(bundle.get("link")):
        if link.get("relation") == "next" and fhirjson.text(link.get("url")):
            return link["url"]
    return None


def _missing_entries(bundle: Mapping[str, Any]) -> str | None:
    """Why a searchset that says it matched more than it holds, with no next page, is not the
    search's answer (a `_summary=count` or truncated Bundle): read as it is, it would say
    "nothing found" where the server found something."""
    total = bundle.get("total")
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "searchset" or _next_link(bundle):
        return None
    if isinstance(total, bool) or not isinstance(total, int):
        return None
    held = sum(1 for e in fhirjson.items(bundle.get("entry"))
               if fhirjson.mapping(e.get("search")).get("mode", "match") == "match")
    return f"the searchset gives total {total} but holds {held} entries" if total > held else None


def _is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def _failed_search(bundle: Mapping[str, Any]) -> str | None:
    """Why a Bundle is a failed search rather than its answer: an entry whose response status is
    not 2xx, or no entry but OperationOutcomes of which one is an error (the search was not
    performed). Read as data it would say "nothing found"."""
    if bundle.get("resourceType") != "Bundle":
        return None
    entries = fhirjson.items(bundle.get("entry"))
    for entry in entries:
        status = fhirjson.text(fhirjson.mapping(entry.get("response")).get("status"))
        if status is not None and not status.startswith("2"):
            return "the Bundle holds an entry whose request failed"
    if not entries or not all(_is_outcome(e.get("resource")) for e in entries):
        return None
    resources = [fhirjson.mapping(e.get("resource")) for e in entries]
    if any(
            fhirjson.mapping(i).get("severity") in ("fatal", "error") for r in resources for i in fhirjson.items(r.get("issue"))):
        return "the search answered only with an error OperationOutcome"
    return None


def unusable(value: Any, shape_checked: bool = False) -> str | None:
    """Why a prefetch value (or a FHIR server's answer) is not its key's answer; None when it is.
    The hook endpoint fetches such a key or fails it; the workbench, which runs requests as sent,
    shows it. Both use this one check. `shape_checked`: bundles.problem found nothing already."""
    if _is_outcome(value):
        return "it is an OperationOutcome"
    if not isinstance(value, dict) or "resourceType" not in value:
        return "it is not a FHIR resource"
    if not shape_checked and (malformed := problem(value)):
        return f"it is malformed ({malformed})"
    return _failed_search(value) or _missing_entries(value)


def gather(
    templates: Mapping[str, str],
    required: AbstractSet[str],
    context: Mapping[str, Any],
    user_id: str | None,
    prefetch: Mapping[str, Any] | None,
    fhir_server: str | None,
    access_token: str | None,
    settings: Settings,
    allowlist: Sequence[str],
    budget: float | None = None,
) -> Gathered:
    """Every template's data, from prefetch or the FHIR server; 412 if a required key is missing.
    All FHIR work shares one deadline: `budget` seconds (what the hook call has left for it), or
    the FHIR deadline setting."""
    budget = settings.fhir_deadline if budget is None else budget
    result = Gathered()
    sent = prefetch or {}
    to_fetch: list[str] = []
    to_page: list[str] = []
    failures: dict[str, str] = {}
    incomplete: dict[str, str] = {}  # sent searchsets short of their total: fetched again
    for key in templates:
        if key not in sent or _is_outcome(sent[key]):
            to_fetch.append(key)
        elif sent[key] is None:
            result.data[key], result.sources[key] = None, "null"
        elif not isinstance(sent[key], dict) or "resourceType" not in sent[key]:
            to_fetch.append(key)
        elif malformed := problem(sent[key]):
            failures[key] = f"the prefetch sent is malformed ({malformed})"
        elif short := unusable(sent[key], shape_checked=True):
            to_fetch.append(key)
            incomplete[key] = short
        else:
            result.data[key], result.sources[key] = sent[key], "sent"
            if sent[key].get("resourceType") == "Bundle" and _next_link(sent[key]):
                to_page.append(key)
    client = None  # one client, so one deadline, for every FHIR read of this call
    try:
        if to_fetch or to_page:
            client = _client(fhir_server, access_token, settings, allowlist, to_fetch + to_page, failures, budget)
        if client is not None:
            _fetch(client, templates, to_fetch, context, user_id, result, failures)
            for key in to_page:
                _follow_pages(client, key, sent[key], result, failures)
        for key, value in result.data.items():
            if result.sources.get(key) in ("sent", "fetched") and value is not None and _missing_entries(value):
                result.sources[key] = "partial"
        for key, reason in list(failures.items()):
            if key in incomplete and _missing_entries(sent[key]) and not _failed_search(sent[key]):
                # sent as a first page only and not to be had whole: what was sent is still read
                # for red flags, and the cards say the rest was not (never "no advice")
                result.data[key], result.sources[key] = sent[key], "partial"
                del failures[key]
                continue
            if key in incomplete:
                failures[key] = f"{incomplete[key]}; {reason}"
            result.data.pop(key, None)
            result.sources[key] = "failed"
        # one ownership decision, from all the data before screening (the Patient entry that a
        # urn:uuid subject resolves to is dropped by it), handed on to the engine
        owner = Owner(str(context.get("patientId", "")), {**result.data, "draftOrders": context.get("draftOrders")}, fhir_server)
        check_drafts(context.get("draftOrders"), owner)
        result.owner = owner
        missing = {k: r for k, r in failures.items() if k in required}
        if missing:
            detail = "; ".join(f"{k}: {r}" for k, r in sorted(missing.items()))
            raise PreconditionFailed(f"required prefetch data could not be obtained ({detail})", keys=tuple(failures))
        record = build_record(result.data, owner, templates)
        result.record, result.set_aside = record, record.set_aside
        if record.wrong_keys:
            result.sources.update({k: "wrong" for k in record.wrong_keys})
            detail = "; ".join(f"{k}: {r}" for k, r in sorted(record.wrong_keys.items()))
            raise PreconditionFailed(f"prefetch data is not this patient's ({detail})")
        if record.open_medications and client is None:
            client = _client(fhir_server, access_token, settings, allowlist, [], {}, budget)
        if record.open_medications:
            result.record = _resolve_medications(result, client, record.open_medications)
    finally:
        if client is not None:
            result.round_trips = client.round_trips
            client.close()
    return result


def _resolve_medications(result: Gathered, client: FhirClient | None, open_refs: Mapping[str, set[str]]) -> PatientRecord:
    """Read the Medications that orders reference but no key holds, in one more batch; a key
    whose drugs stay unknown is "partial" (its orders cannot be classed)."""
    wanted = sorted(set().union(*open_refs.values()))
    found: list[dict[str, Any]] = []
    if client is not None:
        replies = client.batch({ref: ref for ref in wanted})
        found = [r for r in replies.values() if not isinstance(r, FetchError) and r.get("resourceType") == "Medication"]
    if found:
        result.data[MEDICATIONS_KEY] = medrefs.as_bundle(found)
    have = {f"Medication/{m.get('id')}" for m in found}
    for key, refs in open_refs.items():
        if refs - have:
            result.sources[key] = "partial"
    return result.record.with_added(found, result.owner)


def _client(server, token, settings, allowlist, keys, failures, budget) -> FhirClient | None:
    if not server:
        failures.update({k: "not prefetched and no fhirServer given" for k in keys})
        return None
    try:
        base = check_server(server, allowlist, settings.dev, settings.fhir_allow_http)
    except ServerNotAllowed as exc:
        failures.update({k: f"not prefetched and {exc}" for k in keys})
        return None
    return FhirClient(base, token, settings, budget)


def _fetch(client, templates, keys, context, user_id, result, failures) -> None:
    urls: dict[str, str] = {}
    for key in keys:
        try:
            urls[key] = substitute(templates[key], context, user_id)
        except TokenError as exc:
            failures[key] = str(exc)
    if not urls:
        return
    for key, outcome in client.batch(urls).items():
        if isinstance(outcome, FetchError):
            failures[key] = str(outcome)
            continue
        if malformed := problem(outcome):
            failures[key] = f"FHIR server sent a malformed answer ({malformed})"
            continue
        if short := unusable(outcome, shape_checked=True):
            failures[key] = short
            continue
        result.data[key], result.sources[key] = outcome, "fetched"
        if outcome.get("resourceType") == "Bundle" and _next_link(outcome):
            _follow_pages(client, key, outcome, result, failures)


def _follow_pages(client: FhirClient, key: str, first: dict[str, Any], result: Gathered, failures: dict[str, str]) -> None:
    """Merge every page of a searchset into one Bundle (`first`, already stored under `key`).
    Past the page cap, or when the call's time for FHIR work runs out, the key keeps the pages read
    and is "partial": half a record read is still checked for red flags, and the cards say the rest
    was not (a 412 would give no advice at all). A page that fails otherwise (refused, off-server,
    malformed) fails the key: the server is not answering as FHIR says."""
    entries = fhirjson.items(first.get("entry"))
    link = _next_link(first)
    pages = 1
    while link:
        if pages >= client.settings.fhir_max_pages:
            result.sources[key] = "partial"
            break
        try:
            page = client.get(link)
        except OutOfTime:
            result.sources[key] = "partial"
            break
        except FetchError as exc:
            failures[key] = str(exc)
            return
        malformed = problem(page) or (None if page.get("resourceType") == "Bundle" else "a next page is not a Bundle")
        if malformed:
            failures[key] = f"FHIR server sent a malformed page ({malformed})"
            return
        entries.extend(fhirjson.items(page.get("entry")))
        link = _next_link(page)
        pages += 1
    merged = {k: v for k, v in first.items() if k != "link"}
    merged["entry"] = entries
    if _missing_entries(merged):  # the pages ended before the search's total: read what came
        result.sources[key] = "partial"
    result.data[key] = merged
