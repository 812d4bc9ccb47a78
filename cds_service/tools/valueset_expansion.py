"""ICD-10-CM value sets by hierarchy: compose.include.filter (is-a / descendent-of) expanded at
build time into the ValueSet's own FHIR `expansion`, so a billable child of an included category
is never missed and the service never loads the ICD-10-CM tables (about 3 s) at start-up.

    python -m cds_service.tools.valueset_expansion [CARDS_DIR]   # rewrite expansions after editing

tests/library/test_valueset_expansion.py fails when an expansion is stale. simple-icd-10-cm is a build
and test dependency only.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable

from ..core.settings import Settings
from ..library.terminology import filter_problem

TIMESTAMP = "2026-11-26T00:00:00Z"


def _descendants(filt: dict) -> list[str]:
    import simple_icd_10_cm as icd  # build time only: its import reads the whole classification

    code = filt["value"]
    if not icd.is_valid_item(code):
        raise ValueError(f"filter value {code!r} is not an ICD-10-CM code")
    found = list(icd.get_descendants(code))
    return [code, *found] if filt["op"] == "is-a" else found


def _display(code: str) -> str:
    import simple_icd_10_cm as icd

    return icd.get_description(code)


def expansion_contains(compose: dict) -> list[dict]:
    """Every code of the value set: listed concepts and the expanded filters, sorted, once each."""
    rows: dict[tuple[str, str], dict] = {}
    for include in compose.get("include", []):
        system = include["system"]
        for concept in include.get("concept", []):
            row = {"system": system, "code": concept["code"], "display": concept.get("display", "")}
            if concept.get("extension"):  # e.g. the code-verification mark travels with the code
                row["extension"] = concept["extension"]
            rows.setdefault((system, concept["code"]), row)
        for filt in include.get("filter", []):
            problem = filter_problem(system, filt)
            if problem:
                raise ValueError(problem)
            for code in _descendants(filt):
                rows.setdefault((system, code), {"system": system, "code": code, "display": _display(code)})
    return [rows[key] for key in sorted(rows)]


def has_filter(data: dict) -> bool:
    return any(include.get("filter") for include in data.get("compose", {}).get("include", []))


def expanded(data: dict) -> dict:
    """The ValueSet with its `expansion` (re)computed."""
    contains = expansion_contains(data["compose"])
    out = {k: v for k, v in data.items() if k != "expansion"}
    out["expansion"] = {"timestamp": data.get("expansion", {}).get("timestamp", TIMESTAMP),
                        "total": len(contains), "contains": contains}
    return out


def rewrite(paths: Iterable[Path]) -> list[Path]:
    """Recompute the expansion of every value set with a filter; returns the files changed."""
    changed = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not has_filter(data):
            continue
        new = expanded(data)
        if new != data:
            path.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    cards = Path(argv[0]) if argv else Settings.from_env().cards_dir
    for path in rewrite(sorted((cards / "valuesets").glob("*.json"))):
        print(f"expanded {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
