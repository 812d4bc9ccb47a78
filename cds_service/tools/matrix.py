"""The scenario x card-topic matrix of `cards diff --matrix`, readable in a terminal.

Topic codes are too long for column headers and share their first words (cauda-equina-...,
electrodiagnostic-...), so each column is headed by a short abbreviation that is unique in the
table, and a legend names every column in full.
"""
from __future__ import annotations

import textwrap
from typing import Iterable, Mapping, Sequence

SHORT = {"critical": "crit", "warning": "warn", "info": "info"}
NONE = "·"


def abbreviations(topics: Iterable[str]) -> dict[str, str]:
    """topic -> a short unique header: the first word's first letters and the other words' initials
    (cauda-equina-emergency -> cee); where two collide, the first word gives more letters."""
    parts = {t: t.split("-") for t in topics}
    size = dict.fromkeys(parts, 1)
    while True:
        short = {t: p[0][:size[t]] + "".join(w[:1] for w in p[1:]) for t, p in parts.items()}
        taken: dict[str, list[str]] = {}
        for topic, abbr in short.items():
            taken.setdefault(abbr, []).append(topic)
        clashes = [t for same in taken.values() if len(same) > 1 for t in same]
        if not clashes:
            return short
        for topic in clashes:
            if size[topic] >= len(parts[topic][0]):
                parts[topic] = [topic]  # nothing left to lengthen: the code in full
            size[topic] += 1


def _cell(before: str, after: str) -> str:
    if before == after:
        return SHORT.get(before, before)
    return f"{SHORT.get(before, before) or NONE}>{SHORT.get(after, after) or NONE}"


def matrix_lines(cases: Sequence[str], topics: Sequence[str], before: Mapping[str, Mapping[str, str]],
                 after: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The legend, then one row per case; a changed cell reads before>after (· for no card)."""
    heads = abbreviations(topics)
    cells = {case: [_cell(before[case].get(t, ""), after[case].get(t, "")) for t in topics] for case in cases}
    widths = [max([len(heads[t])] + [len(cells[c][i]) for c in cases]) for i, t in enumerate(topics)]
    first = max([len("case")] + [len(c) for c in cases])
    legend = textwrap.wrap("columns: " + ", ".join(f"{heads[t]} = {t}" for t in topics), 78, subsequent_indent="  ",
                           break_on_hyphens=False)  # a topic code never splits across lines
    lines = [*legend, "cells: crit / warn / info; a change reads before>after, · for no card", "",
             " ".join(["case".ljust(first)] + [heads[t].ljust(w) for t, w in zip(topics, widths)]).rstrip()]
    for case in cases:
        lines.append(" ".join([case.ljust(first)] + [cell.ljust(w) for cell, w in zip(cells[case], widths)]).rstrip())
    return lines
