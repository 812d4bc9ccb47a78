"""A site's own layer over the card library (NERVE_CDS_SITE_DIR): threshold values in
`settings.yaml` and card wording in `texts.yaml`, so a hospital adapts the shipped cards/
without forking it. Checked like the library (an unknown setting or rule, a value that is not a
number, a placeholder the engine cannot fill is a one-line problem naming the file and line) and
recorded, so explain and `cards diff` can say which values and texts are the site's.

    settings.yaml:  thresholds: {ces_recent_days: 10, ...}
    texts.yaml:     CES-1: {summary: "...", detail: "..."}   # the rule's main text (variants keep theirs)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from .rules import Rule, check_placeholders
from .schema import LibraryError

TEXT_FIELDS = ("summary", "detail")


@dataclass(frozen=True)
class SiteLayer:
    """What the site changed: settings (name -> (library value, site value)), texts (rule -> fields)."""

    folder: Path
    settings: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    texts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """One line per override, for a terminal or a page."""
        out = [f"setting {name}: {before:g} -> {after:g} ({self.folder / 'settings.yaml'})"
               for name, (before, after) in sorted(self.settings.items())]
        out += [f"text of {rule}: {', '.join(fields)} ({self.folder / 'texts.yaml'})" for rule, fields in sorted(self.texts.items())]
        return out

    def as_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder),
                "settings": {n: {"library": b, "site": a} for n, (b, a) in sorted(self.settings.items())},
                "texts": {r: list(f) for r, f in sorted(self.texts.items())}}


def site_settings(folder: Path, settings: Mapping[str, float]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """The library's thresholds with the site's values over them, and what changed."""
    path = folder / "settings.yaml"
    doc, lines = _read(path, top="thresholds")
    merged, changed = dict(settings), {}
    problems = []
    for name, value in doc.items():
        where = f"{path}:{lines.get(name, 1)}: thresholds.{name}"
        if name not in settings:
            problems.append(f"{where}: unknown setting (not in cards/settings.yaml)")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"{where}: must be a number not below 0, as in cards/settings.yaml")
        else:
            merged[name] = float(value)
            changed[name] = (settings[name], float(value))
    if problems:
        raise LibraryError.of(problems)
    return merged, changed


def site_texts(folder: Path, rules: tuple[Rule, ...], settings: frozenset[str]) -> tuple[tuple[Rule, ...], dict[str, tuple[str, ...]]]:
    """The rules with the site's summary and detail over their main text, and what changed."""
    path = folder / "texts.yaml"
    doc, lines = _read(path)
    by_id = {rule.id: rule for rule in rules}
    problems, texts = [], {}
    for rule_id, fields in doc.items():
        where = f"{path}:{lines.get(rule_id, 1)}: {rule_id}"
        if rule_id not in by_id:
            problems.append(f"{where}: unknown rule (no rule with this id in cards/rules/)")
            continue
        if not isinstance(fields, dict) or not fields or set(fields) - set(TEXT_FIELDS):
            problems.append(f"{where}: must map summary and/or detail to text (nothing else)")
            continue
        for name, text in fields.items():
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{where}.{name}: must be non-empty text")
                continue
            try:
                check_placeholders(text, f"{where}.{name}", settings)
            except LibraryError as exc:
                problems.extend(exc.problems)
        texts[rule_id] = fields
    if problems:
        raise LibraryError.of(problems)
    changed = {rule_id: tuple(fields) for rule_id, fields in texts.items()}
    return tuple(replace(r, text=replace(r.text, **texts[r.id])) if r.id in texts else r for r in rules), changed


def _read(path: Path, top: str | None = None) -> tuple[dict[str, Any], dict[str, int]]:
    """The file's mapping (under `top` if given) and each key's line; {} for no file."""
    if not path.is_file():
        return {}, {}
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"{path}: not readable ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LibraryError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML") from None
    if doc is None or node is None:
        return {}, {}
    if top is not None:
        if not isinstance(doc, dict) or set(doc) != {top}:
            raise LibraryError(f"{path}:1: must hold one key, '{top}'")
        doc, node = doc[top], next(v for k, v in node.value if k.value == top)
    if not isinstance(doc, dict) or not isinstance(node, yaml.MappingNode):
        raise LibraryError(f"{path}:{node.start_mark.line + 1}: must be a mapping")
    return doc, {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
