"""The value-set index in cards/valuesets/README.md, made from the value sets themselves so the
table an analyst reads cannot drift from the files the service loads."""
from __future__ import annotations

import json
from pathlib import Path

from .terminology import UNVERIFIED_EXTENSION

SYSTEM_NAMES = {
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://snomed.info/sct": "SNOMED",
    "http://loinc.org": "LOINC",
    "http://www.ama-assn.org/go/cpt": "CPT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
}
BEGIN, END = "<!-- index: begin (nerve-cds cards index --write) -->", "<!-- index: end -->"


def index_rows(valuesets_dir: Path) -> list[str]:
    rows = ["| Value set | Meaning | Codes (unverified) |", "|---|---|---|"]
    for path in sorted(valuesets_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        counts = []
        for include in data.get("compose", {}).get("include", []):
            concepts = include.get("concept", [])
            unverified = sum(1 for c in concepts for e in c.get("extension", [])
                             if e.get("url") == UNVERIFIED_EXTENSION and e.get("valueCode") == "unverified")
            name = SYSTEM_NAMES.get(include.get("system", ""), include.get("system", "?"))
            counts.append(f"{name} {len(concepts)}" + (f" ({unverified})" if unverified else ""))
        meaning = f"{data.get('title', data['id'])}: {' '.join(data.get('description', '').split())}"
        rows.append(f"| `{data['id']}` | {meaning} | {', '.join(counts)} |")
    return rows


def refreshed(readme: str, valuesets_dir: Path) -> str:
    """The README text with the table between the index markers made anew."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n" + "\n".join(index_rows(valuesets_dir)) + f"\n{END}{tail}"
