"""The kinds of condition a rule in cards/rules/ may state, and why each came out true.

Python knows only these kinds ("present", "onset_at_least", "study" ...); which finding, which
threshold and which study they name comes from the card library. Each predicate returns whether
it holds and the facts that made it hold, so a card can say exactly what triggered it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..library.language import ARGUMENTS
from .drafts import Draft
from .findings import Finding, Findings, LabResult, Study
from .medications import MedicationUse
from .pregnancy import NOT_PREGNANT, Pregnancy
from .unreadable import Unreadable

Fact = Finding | LabResult | Study | Draft | MedicationUse | Unreadable


@dataclass
class Context:
    findings: Findings
    settings: Mapping[str, float]
    fired: set[str] = field(default_factory=set)  # topics of higher-priority rules that fired
    drafts: tuple[Draft, ...] = ()  # draft orders on order hooks
    missing: frozenset[str] = frozenset()  # optional prefetch keys that could not be had
    pregnancy: Pregnancy = NOT_PREGNANT  # read before any rule (engine/pregnancy.py)


Result = tuple[bool, Sequence[Fact]]
Predicate = Callable[[Any, Context], Result]

PREDICATES: dict[str, Predicate] = {}


def predicate(name: str) -> Callable[[Predicate], Predicate]:
    """Implement a condition kind of the rule language (library/language.py)."""
    if name not in ARGUMENTS:
        raise LookupError(f"condition kind '{name}' is not in the rule language (library/language.py)")

    def register(fn: Predicate) -> Predicate:
        PREDICATES[name] = fn
        return fn

    return register


def _names(arg: str | Iterable[str]) -> list[str]:
    return [arg] if isinstance(arg, str) else list(arg)


def _present(ctx: Context, names: str | Iterable[str]) -> list[Finding]:
    return [f for n in _names(names) if (f := ctx.findings.get(n)) is not None and f.present]


def _days_since(ctx: Context, day: date) -> int:
    return (ctx.findings.today - day).days


@predicate("present")
def _p_present(arg: Any, ctx: Context) -> Result:
    found = _present(ctx, arg)
    return bool(found), found


@predicate("absent")
def _p_absent(arg: Any, ctx: Context) -> Result:
    return not _present(ctx, arg), []


@predicate("negated")
def _p_negated(arg: Any, ctx: Context) -> Result:
    found = [f for n in _names(arg) if (f := ctx.findings.get(n)) is not None and f.negated]
    return bool(found), []


@predicate("previously_positive")
def _p_previously(arg: Any, ctx: Context) -> Result:
    found = [f for n in _names(arg) if (f := ctx.findings.get(n)) is not None and f.previously_positive]
    return bool(found), found


@predicate("unreadable")
def _p_unreadable(arg: Any, ctx: Context) -> Result:
    """The record holds something about these findings that could not be read (§6.14); the facts
    name only the findings asked about."""
    asked = set(_names(arg))
    found = [replace(u, about=tuple(n for n in u.about if n in asked))
             for u in ctx.findings.unreadable if asked.intersection(u.about)]
    return bool(found), found


@predicate("bilateral")
def _p_bilateral(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.bilateral]
    return bool(found), found


@predicate("progressive")
def _p_progressive(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.progressive]
    return bool(found), found


@predicate("suspected_only")
def _p_suspected(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.suspected]
    return bool(found), found


@predicate("onset_within")
def _p_onset_within(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present with onset less than `days` ago; an unknown onset counts unless told otherwise."""
    days = ctx.settings[arg["days"]]
    unknown = arg.get("unknown_counts", True)
    found = [
        f for f in _present(ctx, arg["findings"])
        if (f.onset is None and unknown) or (f.onset is not None and _days_since(ctx, f.onset) < days)
    ]
    return bool(found), found


@predicate("onset_at_least")
def _p_onset_at_least(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present with a known onset at least `days` ago (H5: unknown duration never qualifies)."""
    days = ctx.settings[arg["days"]]
    found = [f for f in _present(ctx, arg["findings"]) if f.onset and _days_since(ctx, f.onset) >= days]
    return bool(found), found


@predicate("bilateral_within")
def _p_bilateral_within(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Bilateral, with the second side involved less than `days` ago: chronic bilateral symptoms
    (e.g. neurogenic claudication) are not newly bilateral. Unknown counts unless told otherwise."""
    days = ctx.settings[arg["days"]]
    unknown = arg.get("unknown_counts", True)
    found = [
        f for f in _present(ctx, arg["findings"]) if f.bilateral and (
            (f.bilateral_since is None and unknown)
            or (f.bilateral_since is not None and _days_since(ctx, f.bilateral_since) < days))
    ]
    return bool(found), found


@predicate("onset_since")
def _p_onset_since(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present with a known onset no earlier than the earliest known onset of the `since` findings:
    begun within the current episode (e.g. sexual dysfunction new since the back pain began).
    `unknown_counts`: with no dated `since` finding the episode start is unknown, and the findings
    count (an undated episode cannot show them to be older); otherwise nothing counts. `lead`: a
    setting of days before the episode's start that still belong to it (a sphincter symptom a few
    days before the pain was coded is the same illness; one from years ago is not)."""
    begun = _episode_start(ctx, arg["since"])
    if begun is None:
        found = _present(ctx, arg["findings"]) if arg.get("unknown_counts", False) else []
        return bool(found), found
    if "lead" in arg:
        begun -= timedelta(days=ctx.settings[arg["lead"]])
    found = [f for f in _present(ctx, arg["findings"]) if f.onset and f.onset >= begun]
    return bool(found), found


@predicate("active_episode")
def _p_active_episode(arg: Mapping[str, Any], ctx: Context) -> Result:
    """docs/clinical-safety.md episodes: present and last documented less than `days` ago (undated counts:
    duration unknown is not "old"). A problem-list entry untouched for years is no active episode."""
    days = ctx.settings[arg["days"]]
    found = [f for f in _present(ctx, arg["findings"]) if f.documented is None or _days_since(ctx, f.documented) < days]
    return bool(found), found


@predicate("graded_at_most")
def _p_graded_at_most(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present with a latest graded value (e.g. MRC grade) at or below the setting `value`."""
    limit = ctx.settings[arg["value"]]
    found = [f for f in _present(ctx, arg["findings"]) if f.grade is not None and f.grade <= limit]
    return bool(found), found


@predicate("onset_unknown")
def _p_onset_unknown(arg: Any, ctx: Context) -> Result:
    found = [f for f in _present(ctx, arg) if f.onset is None]
    return bool(found), found


@predicate("sites_at_least")
def _p_sites(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A finding seen in at least `count` of the listed body regions (e.g. widespread twitching)."""
    found = [f for f in _present(ctx, arg["findings"]) if len(f.sites & set(arg["sites"])) >= arg["count"]]
    return bool(found), found


def _recent_labs(arg: Mapping[str, Any], ctx: Context) -> list[LabResult]:
    """The latest result of each lab, if dated within the look-back window (§5.2 recency)."""
    days = ctx.settings[arg["within"]]
    return [lab for n in _names(arg["labs"]) if (lab := ctx.findings.labs.get(n)) is not None
            and lab.when is not None and _days_since(ctx, lab.when) <= days]


@predicate("lab_low")
def _p_lab_low(arg: Mapping[str, Any], ctx: Context) -> Result:
    found = [lab for lab in _recent_labs(arg, ctx) if lab.low]
    return bool(found), found


@predicate("lab_critical_low")
def _p_lab_critical(arg: Mapping[str, Any], ctx: Context) -> Result:
    found = [lab for lab in _recent_labs(arg, ctx) if lab.critical_low]
    return bool(found), found


@predicate("noting_labs")
def _p_noting_labs(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Always holds; adds the recent results, low or normal, so the card can state them."""
    return True, list(_recent_labs(arg, ctx))


def _episode_start(ctx: Context, names: Any) -> date | None:
    onsets = [f.onset for f in _present(ctx, names) if f.onset]
    return min(onsets) if onsets else None


def _studies(ctx: Context, arg: Mapping[str, Any]) -> list[Study]:
    """Matching studies, never the drafts being advised on (they may sit on the server already).

    `within`: a done study counts if done that recently, or (with `since_onset_of`) on or after the
    onset of those findings: an MRI done in this episode answers its imaging question (§5.2).
    `open_within`: an open order counts only if placed that recently (and, with `since_onset_of`, not
    before the episode began). `conclusion`: only studies
    whose report concludes with one of these value sets.
    """
    kinds = set(_names(arg["kinds"]))
    state = arg.get("state", "any")
    within = ctx.settings[arg["within"]] if "within" in arg else None
    open_within = ctx.settings[arg["open_within"]] if "open_within" in arg else None
    since = _episode_start(ctx, arg["since_onset_of"]) if "since_onset_of" in arg else None
    conclusion = set(_names(arg.get("conclusion", [])))
    drafts = {d.reference for d in ctx.drafts}
    found = []
    for study in ctx.findings.studies:
        if study.kind not in kinds or (state != "any" and study.state != state) or study.reference in drafts:
            continue
        if conclusion and not conclusion & study.conclusions:
            continue
        if within is not None and study.state == "done":
            recent = study.when is not None and _days_since(ctx, study.when) <= within
            in_episode = since is not None and study.when is not None and study.when >= since
            if not (recent or in_episode):
                continue
        if open_within is not None and study.state == "open":
            if study.when is None or _days_since(ctx, study.when) > open_within:
                continue
            if since is not None and study.when < since:  # ordered before this episode began
                continue
        found.append(study)
    return found


@predicate("study")
def _p_study(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A study of these kinds done (within `within` days, if given) or still open."""
    found = _studies(ctx, arg)
    return bool(found), found


@predicate("new_since_study")
def _p_new_since(arg: Mapping[str, Any], ctx: Context) -> Result:
    """H7 override: a finding documented positive after the latest matching study was done or
    ordered (§5.2: an order placed before the deficit does not answer it)."""
    dated = [s.when for s in _studies(ctx, {"kinds": arg["kinds"]}) if s.when]
    if not dated:
        return False, []
    last = max(dated)
    found = [f for f in _present(ctx, arg["findings"]) if f.latest and f.latest > last]
    return bool(found), found


@predicate("lab_checked_within")
def _p_lab_checked(arg: Mapping[str, Any], ctx: Context) -> Result:
    days = ctx.settings[arg["days"]]
    labs = [lab for n in _names(arg["labs"]) if (lab := ctx.findings.labs.get(n)) and lab.when
            and _days_since(ctx, lab.when) <= days]
    studies = _studies(ctx, {"kinds": arg.get("kinds", []), "state": "done", "within": arg["days"]})
    return bool(labs or studies), []


@predicate("age_at_least")
def _p_age(arg: str, ctx: Context) -> Result:
    age = ctx.findings.age_years
    return age is not None and age >= ctx.settings[arg], []


@predicate("age_under")
def _p_age_under(arg: str, ctx: Context) -> Result:
    """Known to be under the age; an unknown age is never "young" (reassurance needs it known)."""
    age = ctx.findings.age_years
    return age is not None and age < ctx.settings[arg], []


@predicate("medication")
def _p_medication(arg: Any, ctx: Context) -> Result:
    """A drug of these classes in current use."""
    kinds = set(_names(arg))
    found = [u for u in ctx.findings.medication_uses if u.kind in kinds and u.active]
    return bool(found), found


@predicate("medication_within")
def _p_medication_within(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A drug of these classes in current use, or a course that ended within `within` days."""
    kinds, within = set(_names(arg["kinds"])), ctx.settings[arg["within"]]
    found = [u for u in ctx.findings.medication_uses if u.kind in kinds
             and (u.active or (u.when is not None and _days_since(ctx, u.when) <= within))]
    return bool(found), found


@predicate("medication_for_at_least")
def _p_medication_for_at_least(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A drug of these classes in current use, begun at least `days` ago: long-term use read from
    the medication record itself (e.g. systemic steroids without a Z79.52 code). Unknown start: no."""
    kinds, days = set(_names(arg["kinds"])), ctx.settings[arg["days"]]
    found = [u for u in ctx.findings.medication_uses if u.kind in kinds and u.active
             and u.started is not None and _days_since(ctx, u.started) >= days]
    return bool(found), found


@predicate("data_missing")
def _p_data_missing(arg: Any, ctx: Context) -> Result:
    """One of these prefetch keys could not be had (neither sent nor fetched): the record is partial."""
    return bool(set(_names(arg)) & ctx.missing), []


@predicate("pregnant")
def _p_pregnant(arg: bool, ctx: Context) -> Result:
    """Pregnant today (true), or not (false), as engine/pregnancy.py read the record."""
    holds = ctx.pregnancy.pregnant == arg
    return holds, list(ctx.pregnancy.facts) if holds else []


@predicate("fired")
def _p_fired(arg: Any, ctx: Context) -> Result:
    return bool(set(_names(arg)) & ctx.fired), []


def _considered(ctx: Context, kinds: Any) -> list[Draft]:
    wanted = set(_names(kinds))
    return [d for d in ctx.drafts if d.considered and d.kinds & wanted]


@predicate("draft")
def _p_draft(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A draft being advised on (selected, or any on order-sign) of these kinds; optionally only
    those whose priority is not `priority_not` (e.g. a routine MRI while CES is suspected)."""
    found = [d for d in _considered(ctx, arg["kinds"]) if d.priority != arg.get("priority_not")]
    return bool(found), found


@predicate("about_drafts")
def _p_about_drafts(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Always holds; the considered drafts of these kinds become facts, so a red-flag card that
    makes them appropriate (RF-1, MYE-1) carries its PAMA rating to them. No drafts, no facts."""
    return True, list(_considered(ctx, arg["kinds"]))


@predicate("no_draft")
def _p_no_draft(arg: Mapping[str, Any], ctx: Context) -> Result:
    """No draft at all (selected or not) of these kinds: NCS drafted without its needle EMG."""
    wanted = set(_names(arg["kinds"]))
    return not any(d.kinds & wanted for d in ctx.drafts), []


@predicate("draft_duplicate")
def _p_duplicate(arg: Mapping[str, Any], ctx: Context) -> Result:
    """A considered draft whose kind was done within `within` days or is already an open order.

    The draft itself may already sit on the EHR's FHIR server as a ServiceRequest; it is not its
    own duplicate.
    """
    found: list[Fact] = []
    window = {k: arg[k] for k in ("within", "open_within") if k in arg}
    for draft in _considered(ctx, arg["kinds"]):
        same = _studies(ctx, {"kinds": sorted(draft.kinds), **window})
        if same:
            found += [draft, *same]
    return bool(found), found


from . import explaining, timing  # noqa: E402,F401  (register the kinds that relate findings to dates, limbs, lesions)

_UNIMPLEMENTED = sorted(set(ARGUMENTS) - set(PREDICATES))
if _UNIMPLEMENTED:
    raise LookupError(f"rule language kinds without an implementation: {_UNIMPLEMENTED}")
