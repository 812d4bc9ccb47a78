"""Rules from cards/rules/*.yaml: read and cross-checked against the rest of the library at load.

A rule names a card topic, the hooks it runs on, a `when` tree in the rule language
(language.py) and its card text; every name it uses must resolve, or the library does not load.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..hooks.registry import DEFAULT_RULE_HOOKS
from .language import ARGUMENTS, POOL_WORDS, SHAPES, TEXT_VALUES, Field
from .schema import LibraryError, Problems, check_schema, read_yaml


@dataclass(frozen=True)
class Checked:
    """What a card says it looked for in the record (record_check groups in cards/context.yaml):
    `not_found` is said as "no ...", `ask_about` as things to ask; a group the record holds is named
    as found instead (CLINICAL §6.0.3)."""

    not_found: tuple[str, ...] = ()
    ask_about: tuple[str, ...] = ()


@dataclass(frozen=True)
class CardText:
    summary: str
    detail: str
    suggestions: tuple[Mapping[str, Any], ...]
    checked: Checked | None = None
    remarks: tuple[str, ...] = ()  # what the guard adds (pregnancy, implant, renal): after the advice, before the evidence
    cited: tuple[str, ...] = ()  # sources a remark cites, linked once with the rule's own


def split_detail(detail: str) -> tuple[str, str]:
    """The advice and the evidence of a card text: the paragraph holding {triggers} and all after it
    is evidence, so remarks and notes go between what to do and what it rests on."""
    at = detail.find("{triggers}")
    if at < 0:
        return detail.rstrip(), ""
    start = detail.rfind("\n\n", 0, at)
    return (detail[:start].rstrip(), detail[start:].strip()) if start >= 0 else ("", detail.strip())


@dataclass(frozen=True)
class Variant:
    when: Mapping[str, Any]
    text: CardText


@dataclass(frozen=True)
class Rule:
    id: str
    topic: str
    indicator: str
    priority: int
    hooks: frozenset[str]
    suppresses: frozenset[str]
    when: Mapping[str, Any]
    escalate: tuple[tuple[Mapping[str, Any], str], ...]
    text: CardText
    variants: tuple[Variant, ...]
    sources: tuple[str, ...]
    override_reasons: tuple[Mapping[str, str], ...]
    selection: str
    file: str
    pama_rating: str | None = None  # argonaut PAMA rating of the drafts this rule is about
    silent: bool = False  # judges (PAMA rating) without showing a card
    others_note: str = ""  # a line for every other card of the response when this rule's card shows
    # population scope from the rule's guideline (§6.0): a threshold naming the minimum age, and
    # whether it holds in pregnancy; outside it the rule does not run
    min_age: str | None = None
    in_pregnancy: bool = True
    routine: bool = False  # routine advice: never shown beside a critical card (§6.12)
    # §6.14: "shadow" rules are evaluated but never shown; their would-be card is only reported
    # (explain mode, the request log), so a site can run a new route silently before go-live
    status: str = "active"


@dataclass(frozen=True)
class Names:
    """What rule files may refer to, for cross-checking at load."""

    findings: frozenset[str]
    labs: frozenset[str]
    settings: frozenset[str]
    orders: frozenset[str]
    sources: frozenset[str]
    topics: frozenset[str]
    study_kinds: frozenset[str]
    medications: frozenset[str]
    sites: frozenset[str]
    hooks: frozenset[str]
    valuesets: frozenset[str] = frozenset()
    prefetch_keys: frozenset[str] = frozenset()


def load_rules(directory: Path, schema: Mapping[str, Any], names: Names | None) -> tuple[Rule, ...]:
    """Every rule file, checked against its schema and, when `names` is known, every name it uses;
    LibraryError carries all the problems found, each rule's and each file's."""
    problems = Problems()
    rules: list[Rule] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        where = f"cards/rules/{path.name}"
        with problems.collect():
            data = read_yaml(path, where)
            check_schema(data, schema, where)
            for i, entry in enumerate(data["rules"]):
                if names is None:  # a file they refer to is broken: its problems come first
                    break
                with problems.collect():
                    rules.append(_rule(entry, f"rules[{i}]", where, names))
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.found.append(f"cards/rules: rule ids used twice: {duplicates}")
    problems.raise_any()
    return tuple(sorted(rules, key=lambda r: r.priority))


def _rule(entry: Mapping[str, Any], place: str, where: str, names: Names) -> Rule:
    """The rule, after every check of it has run; LibraryError with all of its problems."""
    problems = Problems()

    def fail(at: str, problem: str) -> LibraryError:
        return LibraryError(f"{where}: {place}.{at}: {problem}")

    with problems.collect():
        if entry["topic"] not in names.topics:
            raise fail("topic", f"unknown card topic '{entry['topic']}'")
    for i, topic in enumerate(entry.get("suppresses", [])):
        with problems.collect():
            if topic not in names.topics:
                raise fail(f"suppresses[{i}]", f"unknown card topic '{topic}'")
    for i, hook in enumerate(entry.get("hooks", DEFAULT_RULE_HOOKS)):
        with problems.collect():
            if hook not in names.hooks:
                raise fail(f"hooks[{i}]", f"unknown hook '{hook}'")
    population = entry.get("population", {})
    with problems.collect():
        if "min_age" in population and population["min_age"] not in names.settings:
            raise fail("population.min_age", f"unknown setting '{population['min_age']}'")
    with problems.collect():
        _check_when(entry["when"], f"{place}.when", where, names)
    escalate = []
    for i, esc in enumerate(entry.get("escalate", [])):
        with problems.collect():
            _check_when(esc["when"], f"{place}.escalate[{i}].when", where, names)
        escalate.append((esc["when"], esc["indicator"]))
    silent = entry.get("silent", False)
    with problems.collect():
        if not silent and "card" not in entry:
            raise fail("card", "a rule that is not silent needs a card")
    card = entry.get("card") or {"summary": "", "detail": "", "sources": []}  # a silent rule shows nothing
    for i, source in enumerate(card["sources"]):
        with problems.collect():
            if source not in names.sources:
                raise fail(f"card.sources[{i}]", f"unknown source '{source}' (see cards/sources.yaml)")
    text = _text(card, card, f"{place}.card", where, names, problems)
    others_note = card.get("others_note", "")
    with problems.collect():
        check_placeholders(others_note, f"{where}: {place}.card.others_note", names.settings)
    variants = []
    for i, var in enumerate(entry.get("variants", [])):
        with problems.collect():
            _check_when(var["when"], f"{place}.variants[{i}].when", where, names)
        variants.append(Variant(var["when"], _text(var, card, f"{place}.variants[{i}]", where, names, problems)))
    problems.raise_any()
    return Rule(
        id=entry["id"],
        topic=entry["topic"],
        indicator=entry["indicator"],
        priority=entry["priority"],
        hooks=frozenset(entry.get("hooks", DEFAULT_RULE_HOOKS)),
        suppresses=frozenset(entry.get("suppresses", [])),
        when=entry["when"],
        escalate=tuple(escalate),
        text=text,
        variants=tuple(variants),
        sources=tuple(card["sources"]),
        override_reasons=tuple(card.get("override_reasons", [])),
        selection=card.get("selection", "at-most-one"),
        file=where,
        pama_rating=entry.get("pama_rating"),
        silent=silent,
        others_note=others_note,
        min_age=population.get("min_age"),
        in_pregnancy=population.get("pregnancy", True),
        routine=entry.get("routine", False),
        status=entry.get("status", "active"),
    )


def _text(part: Mapping[str, Any], card: Mapping[str, Any], place: str, where: str, names: Names,
          problems: Problems) -> CardText:
    suggestions = part.get("suggestions", card.get("suggestions", []))
    for i, suggestion in enumerate(suggestions):
        at = f"{where}: {place}.suggestions[{i}]"
        with problems.collect():
            for key in ("order", "code_from"):
                ref = suggestion.get(key) if key == "order" else suggestion.get("update_drafts", {}).get(key)
                if ref is not None and ref not in names.orders:
                    raise LibraryError(f"{at}.{key}: unknown order '{ref}' (see cards/orders.yaml)")
            if not (suggestion.get("order") or suggestion.get("delete_drafts") or suggestion.get("update_drafts")):
                raise LibraryError(f"{at}: needs order, delete_drafts or update_drafts")
            if "order" not in suggestion and "label" not in suggestion:
                raise LibraryError(f"{at}: needs a label")
        if "when" in suggestion:
            with problems.collect():
                _check_when(suggestion["when"], f"{place}.suggestions[{i}].when", where, names)
    # a variant with a text of its own says its own checks; one that keeps the card's text keeps them too
    inherited = card.get("checked") if part is card or "detail" not in part else None
    checked = part.get("checked", inherited)
    text = CardText(
        summary=part.get("summary", card["summary"]),
        detail=part.get("detail", card["detail"]),
        suggestions=tuple(suggestions),
        checked=Checked(tuple(checked.get("not_found", ())), tuple(checked.get("ask_about", ()))) if checked else None,
    )
    for at, words in [("summary", text.summary), ("detail", text.detail)] + [
            (f"suggestions[{i}].label", s["label"]) for i, s in enumerate(suggestions) if "label" in s]:
        with problems.collect():
            check_placeholders(words, f"{where}: {place}.{at}", names.settings)
    return text


def check_placeholders(text: str, where: str, settings: frozenset[str]) -> None:
    """Every `{name}` in a card text is one the engine fills; LibraryError names the first that is not."""
    fillable = TEXT_VALUES | settings | {f"{s}_weeks" for s in settings}
    try:
        found = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise LibraryError(f"{where}: {exc}") from None
    for name in found:
        if name not in fillable:
            raise LibraryError(f"{where}: no value for placeholder {{{name}}} "
                               f"(known: card values {sorted(TEXT_VALUES)} and the thresholds in cards/settings.yaml)")


def _check_when(node: Any, place: str, where: str, names: Names) -> None:
    """Every predicate kind exists and every name it uses is defined in the library."""
    if not isinstance(node, dict) or len(node) != 1:
        raise LibraryError(f"{where}: {place}: a condition is one key: all, any, not or a predicate")
    (kind, arg), = node.items()
    if kind in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise LibraryError(f"{where}: {place}.{kind}: must be a non-empty list")
        problems = Problems()  # every branch, not only up to the first wrong one
        for i, child in enumerate(arg):
            with problems.collect():
                _check_when(child, f"{place}.{kind}[{i}]", where, names)
        problems.raise_any()
        return
    if kind == "not":
        _check_when(arg, f"{place}.not", where, names)
        return
    if kind not in ARGUMENTS:
        raise LibraryError(f"{where}: {place}: unknown condition '{kind}' (known: {', '.join(sorted(ARGUMENTS))})")
    _check_argument(ARGUMENTS[kind], arg, f"{place}.{kind}", where, names)


def _check_argument(argument: str, arg: Any, place: str, where: str, names: Names) -> None:
    """The argument has the shape language.SHAPES gives its kind, and every name in it resolves."""
    shape = SHAPES[argument]
    if isinstance(shape, str):
        _check_field(shape, arg, place, where, names)
        return
    fields = {key.rstrip("?"): (spec, key.endswith("?")) for key, spec in shape.items()}
    if not isinstance(arg, dict):
        raise LibraryError(f"{where}: {place}: must be a mapping with {', '.join(fields)}")
    for key in arg:
        if key not in fields:
            raise LibraryError(f"{where}: {place}: unknown key '{key}' (allowed: {', '.join(fields)})")
    for key, (spec, optional) in fields.items():
        if key in arg:
            _check_field(spec, arg[key], f"{place}.{key}", where, names)
        elif not optional:
            raise LibraryError(f"{where}: {place}: needs '{key}'")


def _check_field(spec: Field, value: Any, place: str, where: str, names: Names) -> None:
    if isinstance(spec, tuple):
        if value not in spec:
            raise LibraryError(f"{where}: {place}: must be one of {', '.join(spec)}")
    elif spec == "flag":
        if not isinstance(value, bool):
            raise LibraryError(f"{where}: {place}: must be true or false")
    elif spec == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LibraryError(f"{where}: {place}: must be a whole number, at least 1")
    else:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise LibraryError(f"{where}: {place}: must be a name or a non-empty list of names")
        pool = getattr(names, spec)
        for name in values:
            if name not in pool:
                raise LibraryError(f"{where}: {place}: unknown {POOL_WORDS[spec]} '{name}'")
