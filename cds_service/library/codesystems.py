"""Codings as EHRs send them -> the canonical (system, code) the value sets use.

Records name a code system by OID, an older URI or an edition URI, and write codes with stray
whitespace, in lower case or (ICD-10-CM) without the dot. The alias table and code rules are data
(cards/code-systems.yaml); this module applies them, and only Terminology calls it, so a coding is
normalised once, where it is looked up.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .schema import LibraryError, check_schema, read_schema, read_yaml

Coding = tuple[str, str]  # (system, code)
_CACHE_LIMIT = 512  # distinct raw system strings remembered; a record cannot grow it without bound


@dataclass(frozen=True)
class CodeRule:
    """How one code system's codes are written in canonical form."""

    uri: str
    upper: bool = False
    dot_after: int | None = None
    same_as: str = ""  # the system `same_codes` are read in
    same_codes: frozenset[str] = frozenset()  # codes that mean exactly what they mean in `same_as`

    def code(self, code: str) -> str:
        code = code.strip()
        if self.upper:
            code = code.upper()
        n = self.dot_after
        if n and len(code) > n and "." not in code:
            code = f"{code[:n]}.{code[n:]}"
        return code


def _key(system: str) -> str:
    return system.strip().lower()


class CodeSystems:
    """Canonical system URI and code form for any coding; unknown systems keep their name."""

    def __init__(self, rules: Iterable[CodeRule], aliases: Mapping[str, str], prefixes: Mapping[str, str]):
        self._rules = {rule.uri: rule for rule in rules}
        self._aliases = {_key(a).rstrip("/"): uri for a, uri in aliases.items()}
        self._aliases.update({_key(uri).rstrip("/"): uri for uri in self._rules})
        self._prefixes = tuple((_key(p), uri) for p, uri in prefixes.items())
        self._seen: dict[str, CodeRule | str] = {uri: rule for uri, rule in self._rules.items()}

    def _system(self, system: str) -> CodeRule | str:
        """The rule of a known system, else the system string itself (stripped); cached."""
        key = _key(system)
        uri = self._aliases.get(key.rstrip("/"))
        if uri is None:
            uri = next((u for prefix, u in self._prefixes if key.startswith(prefix)), None)
        found = self._rules[uri] if uri else system.strip()
        if len(self._seen) < _CACHE_LIMIT:
            self._seen[system] = found
        return found

    def canonical(self, system: str | None, code: str | None) -> Coding:
        """(system, code) as the value sets write it."""
        system = system or ""
        rule = self._seen.get(system) or self._system(system)
        if isinstance(rule, str):
            return rule, (code or "").strip()
        canonical = rule.code(code or "")
        return (rule.same_as if canonical in rule.same_codes else rule.uri), canonical

    def names(self) -> frozenset[str]:
        """The canonical system URIs that have rules."""
        return frozenset(self._rules)


def read_code_systems(data: Any, where: str, schema: Mapping[str, Any]) -> CodeSystems:
    check_schema(data, schema, where)
    rules, aliases, prefixes = [], {}, {}
    for i, entry in enumerate(data["systems"]):
        code = entry.get("code", {})
        same = entry.get("same_codes", {})
        rules.append(CodeRule(entry["uri"], upper=code.get("case") == "upper", dot_after=code.get("dot_after"),
                              same_as=same.get("as", ""), same_codes=frozenset(same.get("codes", []))))
        for alias in entry.get("aliases", []):
            if _key(alias).rstrip("/") in aliases:
                raise LibraryError(f"{where}: systems[{i}].aliases: '{alias}' is given twice")
            aliases[_key(alias).rstrip("/")] = entry["uri"]
        for prefix in entry.get("alias_prefixes", []):
            prefixes[prefix] = entry["uri"]
    uris = [r.uri for r in rules]
    if len(set(uris)) != len(uris):
        raise LibraryError(f"{where}: systems: a uri is listed twice")
    clash = sorted(set(aliases) & {_key(u).rstrip("/") for u in uris})
    if clash:
        raise LibraryError(f"{where}: '{clash[0]}' is both a canonical uri and an alias")
    return CodeSystems(rules, aliases, prefixes)


def load_code_systems(cards_dir: Path) -> CodeSystems:
    """cards/code-systems.yaml, checked against its schema."""
    where = "cards/code-systems.yaml"
    return read_code_systems(read_yaml(Path(cards_dir) / "code-systems.yaml", where), where,
                             read_schema(cards_dir, "code-systems"))
