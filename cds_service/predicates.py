"""The kinds of condition a rule in cards/rules/ may state, and why each came out true.

Python knows only these kinds ("present", "onset_at_least", "study" ...); which finding, which
threshold and which study they name comes from the card library. Each predicate returns whether
it holds and the facts that made it hold, so a card can say exactly what triggered it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Mapping

from .drafts import Draft
from .findings import Finding, Findings, LabResult, Study

Fact = Finding | LabResult | Study | Draft


@dataclass
class Context:
    findings: Findings
    settings: Mapping[str, float]
    fired: set[str] = field(default_factory=set)  # topics of higher-priority rules that fired
    drafts: tuple[Draft, ...] = ()  # draft orders on order hooks
    missing: frozenset[str] = frozenset()  # optional prefetch keys that could not be had


Result = tuple[bool, list[Fact]]
Predicate = Callable[[Any, Context], Result]

PREDICATES: dict[str, Predicate] = {}
# For library validation: which argument each kind takes ("finding", "findings", "setting" ...).
ARGUMENTS: dict[str, str] = {}


def predicate(name: str, argument: str) -> Callable[[Predicate], Predicate]:
    """Register a predicate kind; order-hook modules register theirs the same way."""

    def register(fn: Predicate) -> Predicate:
        PREDICATES[name] = fn
        ARGUMENTS[name] = argument
        return fn

    return register


def evaluate(node: Mapping[str, Any], ctx: Context) -> Result:
    """A `when` tree: all / any / not, or one predicate."""
    (kind, arg), = node.items()
    if kind == "all":
        facts: list[Fact] = []
        for child in arg:
            ok, found = evaluate(child, ctx)
            if not ok:
                return False, []
            facts += found
        return True, facts
    if kind == "any":
        hits = [evaluate(child, ctx) for child in arg]
        return any(ok for ok, _ in hits), [f for ok, found in hits if ok for f in found]
    if kind == "not":
        ok, _ = evaluate(arg, ctx)
        return not ok, []
    return PREDICATES[kind](arg, ctx)


def _names(arg: str | Iterable[str]) -> list[str]:
    return [arg] if isinstance(arg, str) else list(arg)


def _present(ctx: Context, names: str | Iterable[str]) -> list[Finding]:
    return [f for n in _names(names) if (f := ctx.findings.get(n)) is not None and f.present]


def _days_since(ctx: Context, day: date) -> int:
    return (ctx.findings.today - day).days


@predicate("present", "findings")
def _p_present(arg: Any, ctx: Context) -> Result:
    found = _present(ctx, arg)
    return bool(found), found


@predicate("absent", "findings")
def _p_absent(arg: Any, ctx: Context) -> Result:
    return not _present(ctx, arg), []


@predicate("negated", "findings")
def _p_negated(arg: Any, ctx: Context) -> Result:
    found = [f for n in _names(arg) if (f := ctx.findings.get(n)) is not None and f.negated]
    return bool(found), []


@predicate("previously_positive", "findings")
def _p_previously(arg: Any, ctx: Context) -> Result:
    found = [f for n in _names(arg) if (f := ctx.findings.get(n)) is not None and f.previously_positive]
    return bool(found), found


@predicate("bilateral", "findings")
def _p_bilateral(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.bilateral]
    return bool(found), found


@predicate("progressive", "findings")
def _p_progressive(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.progressive]
    return bool(found), found


@predicate("suspected_only", "findings")
def _p_suspected(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.suspected]
    return bool(found), found


@predicate("onset_within", "onset")
def _p_onset_within(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present with onset less than `days` ago; an unknown onset counts unless told otherwise."""
    days = ctx.settings[arg["days"]]
    unknown = arg.get("unknown_counts", True)
    found = [
        f for f in _present(ctx, arg["findings"])
        if (f.onset is None and unknown) or (f.onset is not None and _days_since(ctx, f.onset) < days)
    ]
    return bool(found), found


@predicate("onset_at_least", "onset")
def _p_onset_at_least(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present with a known onset at least `days` ago (H5: unknown duration never qualifies)."""
    days = ctx.settings[arg["days"]]
    found = [f for f in _present(ctx, arg["findings"]) if f.onset and _days_since(ctx, f.onset) >= days]
    return bool(found), found


@predicate("onset_unknown", "findings")
def _p_onset_unknown(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.onset is None]
    return bool(found), found


@predicate("sites_at_least", "sites")
def _p_sites(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A finding seen in at least `count` of the listed body regions (e.g. widespread twitching)."""
    found = [f for f in _present(ctx, arg["findings"]) if len(f.sites & set(arg["sites"])) >= arg["count"]]
    return bool(found), found


@predicate("lab_low", "labs")
def _p_lab_low(arg: Any, ctx: Context) -> Result:
    found = [lab for n in _names(arg) if (lab := ctx.findings.labs.get(n)) is not None and lab.low]
    return bool(found), found


@predicate("lab_critical_low", "labs")
def _p_lab_critical(arg: Any, ctx: Context) -> Result:
    found = [lab for n in _names(arg) if (lab := ctx.findings.labs.get(n)) is not None and lab.critical_low]
    return bool(found), found


def _studies(ctx: Context, arg: Mapping[str, Any]) -> list[Study]:
    kinds = set(_names(arg["kinds"]))
    state = arg.get("state", "any")
    within = ctx.settings[arg["within"]] if "within" in arg else None
    found = []
    for study in ctx.findings.studies:
        if study.kind not in kinds or (state != "any" and study.state != state):
            continue
        if within is not None and study.state == "done":
            if study.when is None or _days_since(ctx, study.when) > within:
                continue
        found.append(study)
    return found


@predicate("study", "study")
def _p_study(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A study of these kinds done (within `within` days, if given) or still open."""
    found = _studies(ctx, arg)
    return bool(found), found


@predicate("new_since_study", "since")
def _p_new_since(arg: Mapping[str, Any], ctx: Context) -> Result:
    """H7 override: a finding documented positive after the latest matching study was done."""
    done = [s.when for s in _studies(ctx, {**arg, "state": "done"}) if s.when]
    if not done:
        return False, []
    last = max(done)
    found = [f for f in _present(ctx, arg["findings"]) if f.latest and f.latest > last]
    return bool(found), found


@predicate("lab_checked_within", "labcheck")
def _p_lab_checked(arg: Mapping[str, Any], ctx: Context) -> Result:
    days = ctx.settings[arg["days"]]
    labs = [lab for n in _names(arg["labs"]) if (lab := ctx.findings.labs.get(n)) and lab.when
            and _days_since(ctx, lab.when) <= days]
    studies = _studies(ctx, {"kinds": arg.get("kinds", []), "state": "done", "within": arg["days"]})
    return bool(labs or studies), []


@predicate("age_at_least", "setting")
def _p_age(arg: str, ctx: Context) -> Result:
    age = ctx.findings.age_years
    return age is not None and age >= ctx.settings[arg], []


@predicate("medication", "medications")
def _p_medication(arg: Any, ctx: Context) -> Result:
    """A drug of these classes in current use."""
    return bool(set(_names(arg)) & ctx.findings.medications), []


@predicate("medication_within", "medwithin")
def _p_medication_within(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A drug of these classes in current use, or a course that ended within `within` days."""
    kinds, within = set(_names(arg["kinds"])), ctx.settings[arg["within"]]
    found = [u for u in ctx.findings.medication_uses if u.kind in kinds
             and (u.active or (u.when is not None and _days_since(ctx, u.when) <= within))]
    return bool(found), []


@predicate("data_missing", "prefetch")
def _p_data_missing(arg: Any, ctx: Context) -> Result:
    """One of these prefetch keys could not be had (neither sent nor fetched): the record is partial."""
    return bool(set(_names(arg)) & ctx.missing), []


@predicate("fired", "topics")
def _p_fired(arg: Any, ctx: Context) -> Result:
    return bool(set(_names(arg)) & ctx.fired), []


def _considered(ctx: Context, kinds: Any) -> list[Draft]:
    wanted = set(_names(kinds))
    return [d for d in ctx.drafts if d.considered and d.kinds & wanted]


@predicate("draft", "draft")
def _p_draft(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A draft being advised on (selected, or any on order-sign) of these kinds; optionally only
    those whose priority is not `priority_not` (e.g. a routine MRI while CES is suspected)."""
    found = [d for d in _considered(ctx, arg["kinds"]) if d.priority != arg.get("priority_not")]
    return bool(found), found


@predicate("no_draft", "draft")
def _p_no_draft(arg: Mapping[str, Any], ctx: Context) -> Result:
    """No draft at all (selected or not) of these kinds: NCS drafted without its needle EMG."""
    wanted = set(_names(arg["kinds"]))
    return not any(d.kinds & wanted for d in ctx.drafts), []


@predicate("draft_duplicate", "draft")
def _p_duplicate(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A considered draft whose kind was done within `within` days or is already an open order.

    The draft itself may already sit on the EHR's FHIR server as a ServiceRequest; it is not its
    own duplicate.
    """
    drafts = {d.reference for d in ctx.drafts}
    found: list[Fact] = []
    for draft in _considered(ctx, arg["kinds"]):
        same = [s for s in _studies(ctx, {"kinds": sorted(draft.kinds), "within": arg["within"]})
                if s.reference not in drafts]
        if same:
            found += [draft, *same]
    return bool(found), found
