"""Every card summary fits CDS Hooks' limit (under 140 characters) whatever the patient.

A summary is a template: a threshold or the patient's age fills it at run time, and a summary
filled past the limit is a response the service refuses to send (a 500 instead of advice, for
exactly the patient the card is about). So each summary, every wording of every rule and with the
words pregnancy puts in, is measured at load with the longest value each placeholder can take;
a placeholder whose length has no bound (a list of evidence) belongs in the detail.
"""
from __future__ import annotations

import string
from typing import Iterable, Mapping

from .rules import Rule

LIMIT = 139  # CDS Hooks 2.0: "<140 characters"
# {low_labs_brief}: the low labs with their values while that text is this short, else their names
BRIEF_LABS_MAX = 60


def longest_values(settings_texts: Mapping[str, str], lab_names: Iterable[str]) -> dict[str, str]:
    """The longest text each placeholder a summary may use can take: `lab_names` as a card names
    each lab ("corrected calcium" for one the engine corrects), every one of them low at once."""
    names = ", ".join(lab_names)
    return {**settings_texts, "age": "100", "unreadable_count": "999",
            "low_labs_brief": names if len(names) > BRIEF_LABS_MAX else "x" * BRIEF_LABS_MAX}


def summary_problems(rules: Iterable[Rule], longest: Mapping[str, str], pregnancy_wording: Mapping[str, str]) -> list[str]:
    problems = []
    for rule in rules:
        for place, text in [("card", rule.text)] + [(f"variants[{i}]", v.text) for i, v in enumerate(rule.variants)]:
            names = [name for _, name, _, _ in string.Formatter().parse(text.summary) if name]
            unbounded = sorted(set(names) - longest.keys())
            if unbounded:
                problems.append(f"{rule.file}: {rule.id}: {place}.summary: {{{unbounded[0]}}} has no bounded length; "
                                "put it in the detail")
                continue
            filled = text.summary.format_map(longest).strip()
            for words, instead in pregnancy_wording.items():
                if len(instead) > len(words):
                    filled = filled.replace(words, instead)
            if len(filled) > LIMIT:
                problems.append(f"{rule.file}: {rule.id}: {place}.summary: {len(filled)} characters at the longest "
                                f"(CDS Hooks allows {LIMIT}): \"{filled}\"")
    return problems
