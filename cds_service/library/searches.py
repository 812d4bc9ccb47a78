"""The prefetch searches for Conditions and Observations, made from the codes the rules read.

An unfiltered `Observation?patient=` brings every vital sign a long record holds (issue #19:
3,500 of them, a 413 as prefetch and a 412 as fetch), and some EHRs refuse it without a category
or code. CDS Hooks 2.0 prefetch tokens cannot say "the last 30 days", so the searches filter by
code instead: every code of the value sets the findings, the pregnancy context, the labs and the
measured findings read. They are written into cards/services.yaml by `nerve-cds cards prefetch
--write`, and tests/library/test_prefetch_searches.py fails when a code the rules read is in no
search, so a new value set cannot leave a finding unreachable.

- Codes go without their system (`code=236648008`): a token without a system matches the code in
  any system, so the searches stay short, also find a code sent under a system alias (an HL7 OID,
  cards/code-systems.yaml) and can only bring more than the rules read, never less (the engine
  reads every coding with its system). Each search stays under MAX_QUERY characters;
  a longer list is split over numbered keys (`observations2` ...).
- ICD-10-CM codes are diagnoses, recorded as Conditions: Observations are not searched for them.
  Conditions are searched by patient alone (US Core servers must support it, and a code list of
  thousands of ICD-10-CM codes fits in no URL), so every Condition code is reachable.
- `measurements` (the vital signs and labs the measured findings judge by value) are sorted newest
  first, so a capped search keeps the recent readings the rules judge.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, quote

from .codesystems import Coding
from .loader import Library
from .terminology import ICD10CM

PATIENT = "{{context.patientId}}"
# A search's length, template included: common HTTP servers accept request lines of 8 KB (nginx
# large_client_header_buffers, Apache LimitRequestLine), leaving room for the patient id and the
# server's own paging parameters in its `next` links. The service itself sends its searches in a
# batch POST, where the URL is in the body; IIS with its default maxQueryString (2,048) would
# refuse the GET form, so `nerve-cds cards prefetch --max-length` can split for such a server.
MAX_QUERY = 4096
COUNT = 1000  # servers answer with at most their own maximum page size
CONDITION_ONLY_SYSTEMS = frozenset({ICD10CM})
BASE_KEYS = ("conditions", "observations", "measurements")


def owned(library: Library) -> re.Pattern[str]:
    """The keys this module writes: a base key or a measurement's own key (`prefetch_key` in
    cards/findings.yaml: renalFunction), or one of their numbered continuations."""
    keys = sorted({*BASE_KEYS, *(m.prefetch_key for m in library.findings.measures.values())})
    return re.compile(rf"^({'|'.join(keys)})\d*$")


@dataclass(frozen=True)
class Wanted:
    """Codes one Observation key must reach, and what reads them (for the reachability report)."""

    key: str
    codes: Mapping[Coding, tuple[str, ...]]  # coding -> what reads it ("finding urinary-retention")
    newest_first: bool = False


def _add(codes: dict[Coding, list[str]], library: Library, valuesets: Iterable[str], reader: str) -> None:
    for vs in sorted(valuesets):
        for coding in library.terminology.valuesets[vs].codes:
            if coding[0] not in CONDITION_ONLY_SYSTEMS:
                codes.setdefault(coding, []).append(reader)


def wanted(library: Library) -> tuple[Wanted, ...]:
    """The Observation codes of the findings, the pregnancy context and the labs (a required key,
    as when Observations were searched unfiltered), and of the measured findings (newest first), by
    the key each measurement names (`measurements` unless it has one of its own)."""
    f, pregnancy = library.findings, library.context.pregnancy
    findings: dict[Coding, list[str]] = {}
    for name, fdef in sorted(f.findings.items()):
        for criterion in fdef.criteria:
            _add(findings, library, criterion.codes, f"finding {name}")
    _add(findings, library, f.symptom_observation, "the symptom Observation")
    _add(findings, library, pregnancy.status_observation | pregnancy.due_date_observation
         | pregnancy.gestational_age_observation, "the pregnancy context")
    for name, lab in sorted(f.labs.items()):
        _add(findings, library, lab.codes, f"lab {name}")
    measured: dict[str, dict[Coding, list[str]]] = {"measurements": {}}
    for name, mdef in sorted(f.measures.items()):
        _add(measured.setdefault(mdef.prefetch_key, {}), library, mdef.codes, f"measurement {name}")
    return (Wanted("observations", {c: tuple(r) for c, r in findings.items()}),
            *(Wanted(key, {c: tuple(r) for c, r in codes.items()}, newest_first=True) for key, codes in measured.items()))


def _chunks(codes: list[str], room: int) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    for code in codes:
        if chunks[-1] and len(",".join(chunks[-1] + [code])) > room:
            chunks.append([])
        chunks[-1].append(code)
    return chunks


def _observation_searches(want: Wanted, max_length: int) -> dict[str, str]:
    tail = ("&_sort=-date" if want.newest_first else "") + f"&_count={COUNT}"
    head = f"Observation?patient={PATIENT}&code="
    codes = sorted({quote(code, safe="-.") for _, code in want.codes})
    searches = {}
    for n, chunk in enumerate(_chunks(codes, max_length - len(head + tail)), start=1):
        searches[want.key if n == 1 else f"{want.key}{n}"] = head + ",".join(chunk) + tail
    return searches


def searches(library: Library, max_length: int = MAX_QUERY) -> dict[str, str]:
    """Every template this module owns, by prefetch key, in the order services.yaml lists them;
    none longer than `max_length` characters."""
    made = {"conditions": f"Condition?patient={PATIENT}&_count={COUNT}"}
    for want in wanted(library):
        made |= _observation_searches(want, max_length)
    return made


def _reached(templates: Mapping[str, str]) -> set[str] | None:
    """The codes the Observation templates search for; None if one searches Observations unfiltered."""
    reached: set[str] = set()
    for template in templates.values():
        kind, _, query = template.partition("?")
        if kind != "Observation":
            continue
        params = dict(parse_qsl(query))
        if "code" not in params and "category" not in params:
            return None
        reached.update(params.get("code", "").split(","))
    return reached


def unreachable(library: Library, templates: Mapping[str, str]) -> list[str]:
    """What the rules read that these prefetch templates would not bring, one line per code."""
    reached = _reached(templates)
    if reached is None:
        return []
    problems = []
    for want in wanted(library):
        for (system, code), readers in sorted(want.codes.items()):
            if code not in reached:
                problems.append(f"{system}|{code} ({', '.join(readers)}) is in no Observation search")
    conditions = [t for t in templates.values() if t.startswith("Condition?")]
    if any("code=" in t or "category=" in t for t in conditions) or not conditions:
        problems.append("Conditions must be searched by patient alone (every Condition code is read)")
    return problems
