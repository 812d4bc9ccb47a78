"""Why each card fired or not, as plain data: the trace of the engine run that made the cards.

advise(..., explain=True) keeps the run's findings and rule trace; this module only describes
them (which findings each condition named, their evidence with resource ids, codes and dates,
what was set aside and why). It decides nothing again, so the explanation cannot disagree with
the cards. `nerve-cds explain` prints this data and the workbench page renders it.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from ..library.language import ARGUMENTS
from ..library.loader import Library
from .advise import Advice
from .drafts import Draft
from .findings import Finding, Findings, LabResult, Study
from .medications import MedicationUse
from .trace import SHADOW, WITHHELD, NodeTrace, RuleTrace
from .unreadable import REASONS, Unreadable

_LOGIC = ("all", "any", "not")


def explanation(advice: Advice, library: Library) -> dict[str, Any]:
    """The report for one run made with explain=True."""
    findings = advice.findings
    if findings is None:
        raise ValueError("explanation() needs the Advice of advise(..., explain=True)")
    cards = {c["source"]["topic"]["code"]: c for c in advice.cards}
    would = {c["source"]["topic"]["code"]: c for c in advice.shadow_cards}
    rules = []
    for rt in advice.trace:
        outcome = WITHHELD if rt.rule_id in advice.withheld else rt.outcome
        entry: dict[str, Any] = {"rule": rt.rule_id, "topic": rt.topic, "outcome": outcome}
        if rt.silent:
            entry["silent"] = True
        if rt.suppressed_by:
            entry["suppressedBy"] = rt.suppressed_by
        if rt.would_fire is not None:
            entry["wouldHaveFired"] = rt.would_fire
        if rt.indicator:
            entry["indicator"] = rt.indicator
        if library.site and rt.rule_id in library.site.texts:
            entry["siteText"] = list(library.site.texts[rt.rule_id])  # the site's wording, not cards/
        if rt.topic in cards and rt.outcome == "fired" and not rt.silent:
            entry["card"] = cards[rt.topic]["uuid"]
        if rt.outcome == SHADOW and rt.topic in would:  # never returned: what it would have shown
            entry["wouldBeCard"] = {k: would[rt.topic][k] for k in ("indicator", "summary", "detail")}
        if rt.when is not None:
            entry["when"] = _node(rt.when, findings, library)
        entry.update(_chosen(rt, findings, library))
        rules.append(entry)
    return {
        "now": findings.now.isoformat(),
        "cards": [{"uuid": c["uuid"], "topic": t, "indicator": c["indicator"], "summary": c["summary"]}
                  for t, c in cards.items()],
        "rules": rules,
        "findings": {name: _finding(f, findings.today) for name, f in sorted(findings.by_name.items())},
        "labs": {name: _fact(lab, findings.today) for name, lab in sorted(findings.labs.items())},
        "studies": [_fact(s, findings.today) for s in findings.studies],
        "setAside": [{"reference": s.reference, "why": s.reason} for s in advice.set_aside]
                    + [{"reference": ref, **({"finding": name} if name else {}), "why": why}
                       for ref, name, why in findings.decisions],
        "dataQuality": list(findings.data_quality),
        "unreadable": [_unreadable(u) for u in findings.unreadable],
        "uncovered": [{"system": system, "code": code, "display": display} for system, code, display in advice.uncovered],
        "site": library.site.as_json() if library.site else None,
    }


def _unreadable(item: Unreadable) -> dict[str, Any]:
    return {"resourceType": item.resource_type, "id": item.id, "element": item.element, "reason": item.reason,
            "meaning": REASONS[item.reason], "detail": item.detail, "about": list(item.about),
            "date": item.when.isoformat() if item.when else None}


def _chosen(rt: RuleTrace, findings: Findings, library: Library) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rt.escalations:
        out["escalations"] = [_node(node, findings, library) for _, node in rt.escalations]
    if rt.variants:
        out["variants"] = [_node(node, findings, library) for _, node in rt.variants]
    return out


def _node(node: NodeTrace, findings: Findings, library: Library) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": node.kind, "held": node.held}
    if node.kind in _LOGIC:
        branches = [node.arg] if node.kind == "not" else list(node.arg)
        out["children"] = [_node(child, findings, library) for child in node.children]
        skipped = len(branches) - len(node.children)
        if skipped:
            out["notEvaluated"] = skipped  # `all` stopped at the first condition that failed
        return out
    out["condition"] = _text(node.kind, node.arg)
    if node.facts:
        out["facts"] = [_fact(f, findings.today) for f in node.facts]
    out["about"] = _about(node.kind, node.arg, findings, library)
    return out


def _text(kind: str, arg: Any) -> str:
    if isinstance(arg, Mapping):
        parts = [f"{k}={_list(v)}" for k, v in arg.items()]
        return f"{kind}({', '.join(parts)})"
    return f"{kind}({_list(arg)})"


def _list(value: Any) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, (list, tuple)) else str(value)


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _about(kind: str, arg: Any, findings: Findings, library: Library) -> list[dict[str, Any]]:
    """What the condition looked at: each named finding, lab or study kind, and its threshold."""
    shape = ARGUMENTS[kind]
    about: list[dict[str, Any]] = []
    mapping = arg if isinstance(arg, Mapping) else {}
    for key in ("days", "within"):
        if key in mapping:
            about.append({"setting": mapping[key], "value": library.settings[mapping[key]]})
    if shape == "setting":
        about.append({"setting": arg, "value": library.settings[arg], "age": findings.age_years})
    site = library.site.settings if library.site else {}
    for item in about:
        if item.get("setting") in site:
            item["site"], item["library"] = True, site[item["setting"]][0]  # the site's value, over cards/
    names = _names(mapping.get("findings")) if mapping else (_names(arg) if shape == "findings" else [])
    window = library.settings.get(mapping.get("days", "")) if kind.startswith("onset_") else None
    for name in names:
        found = findings.by_name.get(name)
        entry: dict[str, Any] = _finding(found, findings.today) if found else {"state": "not recorded"}
        if window is not None and entry.get("onsetDaysAgo") is not None:
            entry["window"] = "within" if entry["onsetDaysAgo"] < window else "not within"
        set_aside = [{"reference": r, "why": w} for r, n, w in findings.decisions if n == name]
        if set_aside:
            entry["setAside"] = set_aside
        about.append({"finding": name, **entry})
    if shape == "labs":
        for name in _names(arg):
            lab = findings.labs.get(name)
            about.append({"lab": name, **(_fact(lab, findings.today) if lab else {"state": "no result"})})
    kinds = set(_names(mapping.get("kinds")))
    if kinds and shape in ("study", "since", "labcheck", "draft"):
        within = library.settings.get(mapping.get("within", mapping.get("days", "")))
        for study in findings.studies:
            if study.kind in kinds:
                entry = _fact(study, findings.today)
                if within is not None and study.state == "done" and (study.when is None or entry["daysAgo"] > within):
                    entry["lookBack"] = f"outside the look-back of {within:g} days"
                about.append(entry)
    return about


def _days(day: date | None, today: date) -> int | None:
    return (today - day).days if day else None


def _finding(found: Finding, today: date) -> dict[str, Any]:
    state = "present" if found.present else "negated" if found.negated else "not current"
    out: dict[str, Any] = {"state": state + (" (suspected only)" if found.suspected else "")}
    if found.onset:
        out["onset"] = found.onset.isoformat()
        out["onsetDaysAgo"] = _days(found.onset, today)
    if found.latest and found.latest != found.onset:
        out["latest"] = found.latest.isoformat()
    if found.sides:
        out["sides"] = sorted(found.sides)
    if found.sites:
        out["sites"] = sorted(found.sites)
    if found.progressive:
        out["progressive"] = True
    out["evidence"] = [{"reference": e.reference, "code": e.code, "display": e.display,
                        **({"qualifiers": e.qualifiers} if e.qualifiers else {}),
                        "date": e.when.isoformat() if e.when else None, "positive": e.positive}
                       for e in found.evidence]
    return out


def _fact(fact: Any, today: date) -> dict[str, Any]:
    if isinstance(fact, Finding):
        return {"finding": fact.name, **_finding(fact, today)}
    if isinstance(fact, LabResult):
        return {"lab": fact.name, "reference": fact.reference, "value": fact.value, "unit": fact.unit, "low": fact.low,
                "criticalLow": fact.critical_low, "date": fact.when.isoformat() if fact.when else None}
    if isinstance(fact, Study):
        return {"study": fact.kind, "state": fact.state, "reference": fact.reference,
                "date": fact.when.isoformat() if fact.when else None, "daysAgo": _days(fact.when, today)}
    if isinstance(fact, Draft):
        return {"draft": sorted(fact.kinds), "reference": fact.reference, "display": fact.display,
                "priority": fact.priority, "considered": fact.considered}
    if isinstance(fact, Unreadable):
        return {"unreadable": _unreadable(fact)}
    if isinstance(fact, MedicationUse):
        return {"medication": fact.kind, "reference": fact.reference, "display": fact.display, "active": fact.active,
                "started": fact.started.isoformat() if fact.started else None,
                "ended": fact.when.isoformat() if fact.when else None}
    raise TypeError(f"unknown fact {type(fact).__name__}")


def outline(report: Mapping[str, Any]) -> Iterable[str]:
    """The report as indented lines for a terminal: rule, outcome, each condition."""
    for rule in report["rules"]:
        head = f"{rule['rule']} [{rule['topic']}] {rule['outcome'].upper()}"
        if rule.get("suppressedBy"):
            head += f" by {rule['suppressedBy']}"
        if rule.get("siteText"):
            head += f" [site text: {', '.join(rule['siteText'])}]"
        if "wouldHaveFired" in rule:
            head += " (would have fired)" if rule["wouldHaveFired"] else " (would not have fired)"
        if rule.get("indicator"):
            head += f" ({rule['indicator']}{', silent' if rule.get('silent') else ''})"
        yield head
        if "when" in rule:
            yield from _outline_node(rule["when"], 1)
    if report["setAside"]:
        yield "Set aside:"
        yield from (f"  {s['reference']}{' (' + s['finding'] + ')' if 'finding' in s else ''}: {s['why']}"
                    for s in report["setAside"])
    if report["dataQuality"]:
        yield "Data quality:"
        yield from (f"  {note}" for note in report["dataQuality"])
    if report.get("site"):
        yield f"Site layer ({report['site']['folder']}):"
        yield from (f"  setting {n} = {v['site']:g} (library {v['library']:g})" for n, v in report["site"]["settings"].items())
        yield from (f"  text of {r}: {', '.join(f)}" for r, f in report["site"]["texts"].items())
    if report.get("unreadable"):
        yield "Could not be read (neither positive nor negative):"
        yield from (f"  {u['resourceType']}/{u['id']} {u['element']} [{u['reason']}]: {u['detail']} "
                    f"(about {', '.join(u['about'])})" for u in report["unreadable"])


def _outline_node(node: Mapping[str, Any], depth: int) -> Iterable[str]:
    pad = "  " * depth
    mark = "✓" if node["held"] else "✗"
    if "children" in node:
        yield f"{pad}{mark} {node['kind']}" + (f" ({node['notEvaluated']} not evaluated)" if node.get("notEvaluated") else "")
        for child in node["children"]:
            yield from _outline_node(child, depth + 1)
        return
    yield f"{pad}{mark} {node['condition']}"
    unrecorded = [item["finding"] for item in node["about"] if item.get("state") == "not recorded"]
    for item in node["about"]:
        if item.get("state") != "not recorded":
            yield f"{pad}    {_about_line(item)}"
    if unrecorded:
        yield f"{pad}    not recorded: {', '.join(unrecorded)}"


def _about_line(item: Mapping[str, Any]) -> str:
    if "setting" in item:
        site = f" (site; library {item['library']:g})" if item.get("site") else ""
        return f"threshold {item['setting']} = {item['value']:g}{site}" + (f" (age {item['age']})" if "age" in item else "")
    if "finding" in item:
        line = f"{item['finding']}: {item['state']}"
        if "onset" in item:
            line += f", onset {item['onset']} ({item['onsetDaysAgo']} days ago{', ' + item['window'] + ' the window' if 'window' in item else ''})"
        refs = [f"{e['reference']} {e['code']} {e['date'] or 'undated'}{'' if e['positive'] else ' negative'}"
                for e in item.get("evidence", [])]
        refs += [f"{s['reference']} {s['why']}" for s in item.get("setAside", [])]
        return line + ("; " + "; ".join(refs) if refs else "")
    if "lab" in item:
        return f"lab {item['lab']}: " + (item["state"] if "state" in item and "value" not in item else
                                        f"{item['value']:g} {item['unit']}{' low' if item['low'] else ''} ({item['reference']}, {item['date']})")
    return f"{item.get('study')} {item.get('state')} {item.get('reference')} {item.get('date')} {item.get('lookBack', '')}".strip()
