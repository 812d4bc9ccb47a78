"""Reverse look-ups in a card library: which value sets hold a code, and the findings, labs,
medications and rules that use them; where a setting is used: the rules (their conditions, scope
and card text) and every other file of the library that names it (context.yaml's order policies,
findings.yaml's measured thresholds, ...), since a threshold moved for the rules moves those too.
Codes and rules are read from the loaded library, so the answer is what the service runs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .loader import Library
from .rules import Rule
from .schema import read_yaml

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class Use:
    kind: str  # finding, lab, medication, rule; for a setting also the file naming it (context, findings ...)
    name: str
    via: str  # the value set or setting it uses, and where


@dataclass
class Answer:
    query: str
    setting: float | None = None  # the setting's value when the query names one
    valuesets: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, system, code, display)
    uses: list[Use] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.setting is not None or bool(self.valuesets)

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "setting": self.setting,
                "valueSets": [{"id": i, "system": s, "code": c, "display": d} for i, s, c, d in self.valuesets],
                "uses": [vars(u) for u in self.uses]}


def where(library: Library, query: str) -> Answer:
    """A setting's name, or a code (`CODE` in any system, or `SYSTEM|CODE`)."""
    query = query.strip()
    if query in library.settings:
        return _setting(library, query)
    return _code(library, query)


def _code(library: Library, query: str) -> Answer:
    system, _, code = query.rpartition("|")
    answer = Answer(query)
    for valueset in sorted(library.terminology.valuesets.values(), key=lambda v: v.id):
        for coding in sorted(valueset.codes):
            if coding[1] == code and (not system or coding[0] == system):
                answer.valuesets.append((valueset.id, coding[0], coding[1], valueset.displays.get(coding, "")))
    held = {vs_id for vs_id, *_ in answer.valuesets}
    named: dict[str, str] = {vs: vs for vs in held}  # a name rules use -> the value set behind it
    defs = library.findings
    for name, finding in sorted(defs.findings.items()):
        for criterion in finding.criteria:
            for part, ids in (("codes", criterion.codes), ("site", criterion.site), ("not_site", criterion.not_site)):
                for vs in sorted(ids & held):
                    answer.uses.append(Use("finding", name, f"{vs} ({part})"))
                    named.setdefault(name, vs)
    for name, lab in sorted(defs.labs.items()):
        for vs in sorted(lab.codes & held):
            answer.uses.append(Use("lab", name, vs))
            named.setdefault(name, vs)
    for name in sorted(defs.medications & held):
        answer.uses.append(Use("medication", name, name))
    for rule in library.rules:
        mentioned = set(_names(rule))
        for name in sorted(mentioned & named.keys()):
            answer.uses.append(Use("rule", rule.id, f"{name} (value set {named[name]})" if name != named[name] else name))
    return answer


def _setting(library: Library, name: str) -> Answer:
    answer = Answer(name, setting=library.settings[name])
    for rule in library.rules:
        if name in set(_names(rule)) or rule.min_age == name:
            answer.uses.append(Use("rule", rule.id, "condition"))
        if {name, f"{name}_weeks"} & set(_placeholders(rule)):
            answer.uses.append(Use("rule", rule.id, "card text"))
    answer.uses += _data_uses(library.path, name)
    return answer


def _data_uses(folder: Path, name: str) -> list[Use]:
    """Every place outside settings.yaml and the rules that names the setting: as a value (a
    reference), as a key (e.g. a repeat window) or as a {placeholder} in a text."""
    uses = []
    for path in sorted(Path(folder).rglob("*.yaml")):
        relative = path.relative_to(folder)
        if relative.parts[0] == "rules" or relative == Path("settings.yaml"):
            continue
        for where, how in _mentions(read_yaml(path, f"cards/{relative}"), name, ()):
            uses.append(Use(relative.stem, ".".join(where), f"{how} in cards/{relative.as_posix()}"))
    return uses


def _mentions(node: Any, name: str, at: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, str):
        if node == name:
            yield at, "value"
        elif {name, f"{name}_weeks"} & set(_PLACEHOLDER.findall(node)):
            yield at, "text"
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key == name:
                yield (*at, str(key)), "key"
            yield from _mentions(value, name, (*at, str(key)))
    elif isinstance(node, (list, tuple)):
        for n, value in enumerate(node):
            yield from _mentions(value, name, (*at, str(n)))


def _names(rule: Rule) -> Iterator[str]:
    """Every name a rule's conditions mention (the values, never the field names)."""
    trees: list[Any] = [rule.when, *(w for w, _ in rule.escalate), *(v.when for v in rule.variants)]
    for text in (rule.text, *(v.text for v in rule.variants)):
        trees += [s["when"] for s in text.suggestions if "when" in s]
    for tree in trees:
        yield from _leaves(tree)


def _leaves(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _leaves(value)


def _placeholders(rule: Rule) -> Iterator[str]:
    for text in (rule.text, *(v.text for v in rule.variants)):
        for words in (text.summary, text.detail, *(str(s.get("label", "")) for s in text.suggestions)):
            yield from _PLACEHOLDER.findall(words)
    yield from _PLACEHOLDER.findall(rule.others_note)
