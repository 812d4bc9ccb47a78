"""Charts as inline SVG, drawn on the server: they work offline, with no script and no CDN.

Every label is escaped; every bar carries its count as text and as data attributes, so the
chart reads at a glance and a test can check it.
"""
from __future__ import annotations

from datetime import date
from typing import Mapping, Sequence

from markupsafe import Markup, escape

COLOURS = {"accepted": "#2e7d32", "overridden": "#c62828", "no response": "#b0bec5", "no feedback channel": "#e0e0e0",
           "issued": "#1565c0"}


def outcome_bars(rows: Sequence[tuple[str, int, int, int, int]], width: int = 760) -> Markup:
    """One horizontal bar per topic, in cards: accepted, overridden, no response, and sent to a
    client with no feedback channel (unknown, not ignored), out of cards issued.

    rows: (topic, issued, accepted, overridden, no feedback channel)."""
    label_w, bar_h, gap = 250, 22, 10
    scale_w = width - label_w - 150  # room for the counts after the longest bar
    biggest = max([max(i, a + o) for _, i, a, o, _ in rows] + [1])
    height = len(rows) * (bar_h + gap) + 30
    parts = [_svg_open(width, height, "Cards issued, accepted, overridden and unanswered per topic")]
    for n, (topic, issued, accepted, overridden, unheard) in enumerate(rows):
        y = 10 + n * (bar_h + gap)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="lbl">{escape(topic)}</text>')
        x: float = label_w
        silent = max(issued - accepted - overridden - unheard, 0)
        for kind, count in (("accepted", accepted), ("overridden", overridden), ("no response", silent),
                            ("no feedback channel", unheard)):
            w = scale_w * count / biggest
            if count:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[kind]}" '
                             f'data-topic="{escape(topic)}" data-kind="{kind}" data-count="{count}">'
                             f'<title>{escape(topic)}: {count} {kind}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" class="num">{accepted}✓ {overridden}✗ / {issued} issued</text>')
    parts.append(_legend(("accepted", "overridden", "no response", "no feedback channel"), 10, height - 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def weekly_bars(weeks: Sequence[date], series: Mapping[str, Sequence[int]], width: int = 760, height: int = 220) -> Markup:
    """Grouped columns per week (Monday's date under each group), one colour per series."""
    left, bottom, top = 40, 40, 16
    plot_h = height - bottom - top
    biggest = max([max(v, default=0) for v in series.values()] + [1])
    group_w = (width - left - 10) / max(len(weeks), 1)
    bar_w = min(24.0, group_w * 0.8 / max(len(series), 1))
    parts = [_svg_open(width, height, "Cards shown, accepted and overridden per week")]
    for tick in sorted({0, biggest // 2, biggest}):
        y = top + plot_h - plot_h * tick / biggest
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="num">{tick}</text>')
    for i, week in enumerate(weeks):
        x0 = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, (kind, values) in enumerate(series.items()):
            count = values[i]
            h = plot_h * count / biggest
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS.get(kind, "#555")}" data-week="{week.isoformat()}" data-kind="{escape(kind)}" '
                         f'data-count="{count}"><title>week of {week.isoformat()}: {count} {escape(kind)}</title></rect>')
        parts.append(f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'class="lbl">{week.strftime("%d %b")}</text>')
    parts.append(_legend(tuple(series), left, height - 6))
    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>')


def _legend(kinds: Sequence[str], x: int, y: int) -> str:
    out = []
    for kind in kinds:
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{COLOURS.get(kind, "#555")}"/>'
                   f'<text x="{x + 16}" y="{y}" class="lbl">{escape(kind)}</text>')
        x += 16 + 8 * len(kind) + 20
    return "".join(out)
