"""The feedback report as terminal lines: per topic, per rule, then per hook, client, user, week by week."""
from __future__ import annotations

from typing import Iterator

from ..storage.analytics import NO_RULE, Counts, Report, TopicStats

HEAD = (f"{'issued':>6} {'answered':>8} {'accepted':>8} {'overridden':>10} {'no resp.':>8} {'no channel':>10} "
        f"{'share':>6} {'patients':>8}")


NOT_MEASURABLE = ("n/a: the card offers no suggestion, and CDS Hooks records \"accepted\" only with the "
                  "suggestions accepted: judge it by its overrides")


def share(c: Counts) -> str:
    return f"{c.acceptance:.0%}" if c.acceptance is not None else "n/a" if not c.measurable else "-"


def counts_line(c: Counts) -> str:
    return (f"{c.issued:6} {c.answered:8} {c.accepted:8} {c.overridden:10} {c.no_response:8} {c.no_channel:10} "
            f"{share(c):>6} {c.patients:8}")


def _why(t: TopicStats) -> Iterator[str]:
    for label, n in t.suggestions.most_common():
        yield f"{'':4}accepted: {label} x{n}"
    for reason, n in t.reasons.most_common():
        yield f"{'':4}override: {reason} x{n}"
    for reason, n in t.unoffered.most_common():
        yield f"{'':4}override (reason the card did not offer): {reason} x{n}"
    for (reason, comment), n in t.comments.most_common():
        yield f"{'':4}comment ({reason}): {comment}" + (f" x{n}" if n > 1 else "")


def report_lines(report: Report) -> Iterator[str]:
    """Counts are cards (a card's latest feedback decides it); share = accepted / cards issued to
    clients that send feedback; patients = distinct patients the cards were about."""
    if not report.topics:
        yield "No cards issued and no feedback in this period."
        return
    yield f"{'topic':32} {'rules':12} {HEAD}"
    for t in report.topics:
        yield f"{t.topic[:32]:32} {','.join(t.rules)[:12]:12} {counts_line(t)}"
        yield from _why(t)
    if not all(t.measurable for t in report.topics):
        yield NOT_MEASURABLE
    yield ""
    yield f"{'rule (topic)':45} {HEAD}"
    for r in report.rules:
        yield f"{r.rule + ' (' + r.topic + ')':45.45} {counts_line(r)}"
        if r.rule != NO_RULE:
            yield from _why(r)
    yield ""
    yield f"{'hook (service)':45} {HEAD}"
    for h in report.hooks:
        yield f"{(h.hook or '?') + ' (' + h.service + ')':45.45} {counts_line(h)}"
    yield ""
    yield f"{'client':45} {HEAD}"
    for c in report.clients:
        mark = "*" if c.client == report.client else " "
        note = "" if c.channel else "  no feedback channel"
        yield f"{mark}{c.client[:44]:44} {counts_line(c)}{note}"
    if report.client:
        yield f"(* the topics, rules, hooks, users and weeks are of {report.client} only)"
    yield ""
    yield f"{'user (context.userId)':45} {HEAD}"
    for u in report.users:
        yield f"{u.user[:45]:45} {counts_line(u)}"
    if report.weeks:
        yield ""
        yield f"{'week of':45} {HEAD}"
        for w in report.weeks:
            total = Counts()
            for per in report.weekly.values():
                if w in per:
                    total.add(per[w])
            yield f"{w.isoformat():45} {counts_line(total)}"
