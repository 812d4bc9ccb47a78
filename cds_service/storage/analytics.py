"""What clinicians do with the cards, counted per card: issued, answered, accepted (with which
suggestion), overridden (why, and what they wrote), no response, or sent to an EHR that never
sends feedback at all; per topic and rule, hook, client, user and week, each with the number of
distinct patients the cards were about (counted from keyed hashes: no patient id is kept or shown).

A card's outcome is its latest feedback (a clinician may override, then accept). The report's
values are plain dataclasses (no database library): every store builds them with `summarise` from
the rows it holds. Weeks start on Monday (ISO weeks), in UTC, and a card counts in the week it
was issued. What the card offered (suggestion labels, override reasons, its rules, a service's
hook) comes from a Vocabulary: the storage knows uuids and codes, the card library their words.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Protocol

UNKNOWN = "(card not recorded)"  # feedback on a card we issued whose row was lost (database down)
NO_CLIENT = "(before clients were recorded)"  # rows stored before migration 0002
NO_RULE = "(rule not recorded)"  # before migration 0005, or a card no single rule explains
NO_USER = "(user not recorded)"  # rows stored before migration 0005
NO_REASON = "no reason given"
UNLABELLED = "(suggestion not in the current card library)"


class Vocabulary(Protocol):
    """The card library's words for what the storage keeps as ids and codes."""

    def rules(self, topic: str) -> list[str]: ...

    def hook(self, service_id: str) -> str | None: ...

    def suggestion(self, topic: str, card: str, suggestion: str) -> str | None:
        """The label of the suggestion with this uuid on this card; None if the library has none."""

    def reason(self, topic: str, system: str, code: str) -> str | None:
        """The display of an override reason the topic's cards offer; None if they offer no such one."""

    def rule_reason(self, rule: str, system: str, code: str) -> str | None:
        """The display of an override reason the rule's cards offer (rules of one topic may offer
        one code with displays of their own); None if they offer no such one."""

    def accepts(self, topic: str, rule: str | None = None) -> bool:
        """Whether the topic's cards (the rule's, when given) offer a suggestion: CDS Hooks records
        "accepted" only with the suggestions accepted, so a card offering none is never accepted."""


class Bare:
    """No library at hand: uuids and codes as stored, every reason taken as offered."""

    def rules(self, topic: str) -> list[str]:
        return []

    def hook(self, service_id: str) -> str | None:
        return None

    def suggestion(self, topic: str, card: str, suggestion: str) -> str | None:
        return suggestion

    def reason(self, topic: str, system: str, code: str) -> str | None:
        return code

    def rule_reason(self, rule: str, system: str, code: str) -> str | None:
        return code

    def accepts(self, topic: str, rule: str | None = None) -> bool:
        return True


@dataclass(frozen=True)
class IssuedRow:
    card: str
    service: str
    client: str | None
    topic: str | None
    issued_at: datetime
    rule: str | None = None
    user: str | None = None
    patient: str | None = None  # a keyed hash of the patient, never the id


@dataclass(frozen=True)
class FeedbackRow:
    card: str
    client: str | None
    topic: str | None
    outcome: str
    when: datetime
    suggestions: tuple[str, ...]
    system: str | None
    code: str | None
    display: str | None
    comment: str | None


@dataclass
class Counts:
    """Cards and what became of each (its latest feedback)."""

    issued: int = 0
    answered: int = 0  # cards with any feedback
    accepted: int = 0
    overridden: int = 0
    no_channel: int = 0  # sent to a client that never sends feedback: unknown, not ignored
    patient_keys: set[str] = field(default_factory=set, repr=False)  # keyed hashes, only ever counted
    acceptable: bool = True  # the cards offer a suggestion to accept (Vocabulary.accepts)

    @property
    def patients(self) -> int:
        """Distinct patients the cards were about (of the cards that recorded one)."""
        return len(self.patient_keys)

    @property
    def no_response(self) -> int:
        return max(self.issued - self.answered - self.no_channel, 0)

    @property
    def measurable(self) -> bool:
        """False for cards that offer no suggestion (and were never accepted): their 0% is an
        artefact of the protocol, not a judgement by clinicians."""
        return self.acceptable or self.accepted > 0

    @property
    def acceptance(self) -> float | None:
        """Accepted share of the cards issued to clients that send feedback; None without any,
        or when acceptance is not measurable."""
        heard = self.issued - self.no_channel
        return self.accepted / heard if heard > 0 and self.measurable else None

    def add(self, other: Counts) -> None:
        """Add another row's cards to this one (a total over topics)."""
        for name in ("issued", "answered", "accepted", "overridden", "no_channel"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.patient_keys |= other.patient_keys

    def counts(self) -> dict[str, Any]:
        return {"issued": self.issued, "answered": self.answered, "accepted": self.accepted,
                "overridden": self.overridden, "noResponse": self.no_response, "noFeedbackChannel": self.no_channel,
                "acceptedShare": None if self.acceptance is None else round(self.acceptance, 4),
                "acceptanceMeasurable": self.measurable, "patients": self.patients}


@dataclass
class TopicStats(Counts):
    topic: str = ""
    rules: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)  # offered reason display (or NO_REASON) -> cards
    unoffered: Counter = field(default_factory=Counter)  # reasons the card did not offer: "display [code]" -> cards
    comments: Counter = field(default_factory=Counter)  # (reason, the clinician's comment) -> cards
    suggestions: Counter = field(default_factory=Counter)  # accepted suggestion label -> cards


@dataclass
class RuleStats(TopicStats):
    rule: str = NO_RULE  # with `topic`: a rule's cards, or a topic's cards whose rule is not known


@dataclass
class WeekStats(Counts):
    pass


@dataclass
class UserStats(Counts):
    user: str = ""  # the hook call's context.userId, e.g. Practitioner/123


@dataclass
class ClientStats(Counts):
    client: str = ""  # the JWT iss; core.cardids.ANONYMOUS_CLIENT in dev mode without authentication

    @property
    def channel(self) -> bool:
        return self.no_channel == 0 or self.answered > 0


@dataclass
class HookStats(Counts):
    service: str = ""
    hook: str | None = None


@dataclass
class Report:
    topics: list[TopicStats]
    weeks: list[date]  # Mondays, oldest first, with no gaps
    weekly: dict[str, dict[date, WeekStats]]  # topic -> week -> counts
    clients: list[ClientStats] = field(default_factory=list)  # every client in the period, busiest first
    client: str | None = None  # the one client reported on, None for all
    hooks: list[HookStats] = field(default_factory=list)
    rules: list[RuleStats] = field(default_factory=list)  # by topic, then busiest first
    users: list[UserStats] = field(default_factory=list)  # busiest first

    def topic(self, name: str) -> TopicStats | None:
        return next((t for t in self.topics if t.topic == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "topics": [{"topic": t.topic, "rules": t.rules, **t.counts(), **_why_json(t)} for t in self.topics],
            "rules": [{"rule": r.rule, "topic": r.topic, **r.counts(), **_why_json(r)} for r in self.rules],
            "users": [{"user": u.user, **u.counts()} for u in self.users],
            "weeks": [{"week": w.isoformat(), "topics": {topic: weeks[w].counts() for topic, weeks in self.weekly.items()
                                                         if w in weeks}} for w in self.weeks],
            "hooks": [{"service": h.service, "hook": h.hook, **h.counts()} for h in self.hooks],
            "client": self.client,
            "clients": [{"client": c.client, "feedbackChannel": c.channel, **c.counts()} for c in self.clients],
        }

    def as_csv(self) -> str:
        """Long form, one count per line (section, name, item, value), for a spreadsheet's pivot table."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "name", "item", "value"])
        for t in self.topics:
            writer.writerows(("topic", t.topic, k, v) for k, v in t.counts().items())
            writer.writerow(("topic", t.topic, "rules", " ".join(t.rules)))
            _why_rows(writer, "", t.topic, t)
        for r in self.rules:
            name = f"{r.rule} ({r.topic})" if r.rule == NO_RULE else r.rule
            writer.writerows(("rule", name, k, v) for k, v in r.counts().items())
            writer.writerow(("rule", name, "topic", r.topic))
            _why_rows(writer, "rule ", name, r)
        for h in self.hooks:
            writer.writerows(("hook", h.hook or h.service, k, v) for k, v in h.counts().items())
        for c in self.clients:
            writer.writerows(("client", c.client, k, v) for k, v in c.counts().items())
        for u in self.users:
            writer.writerows(("user", u.user, k, v) for k, v in u.counts().items())
        for w in self.weeks:
            for topic, weeks in self.weekly.items():
                if w in weeks:
                    writer.writerows(("week " + w.isoformat(), topic, k, v) for k, v in weeks[w].counts().items())
        return out.getvalue()


def _why_json(t: TopicStats) -> dict[str, Any]:
    return {"overrideReasons": [{"reason": r, "cards": n} for r, n in t.reasons.most_common()],
            "overrideReasonsNotOffered": [{"reason": r, "cards": n} for r, n in t.unoffered.most_common()],
            "overrideComments": [{"reason": r, "comment": c, "cards": n} for (r, c), n in t.comments.most_common()],
            "acceptedSuggestions": [{"label": s, "cards": n} for s, n in t.suggestions.most_common()]}


def _why_rows(writer: Any, prefix: str, name: str, t: TopicStats) -> None:
    writer.writerows((prefix + "override reason", name, r, n) for r, n in t.reasons.most_common())
    writer.writerows((prefix + "override reason not offered", name, r, n) for r, n in t.unoffered.most_common())
    writer.writerows((prefix + "override comment", name, f"{r}: {c}", n) for (r, c), n in t.comments.most_common())
    writer.writerows((prefix + "accepted suggestion", name, s, n) for s, n in t.suggestions.most_common())


def monday(when: datetime) -> date:
    day = (when if when.tzinfo is None else when.astimezone(timezone.utc)).date()
    return day - timedelta(days=day.weekday())


def summarise(issued: Iterable[IssuedRow], feedback: Iterable[FeedbackRow], channels: set[str | None],
              vocabulary: Vocabulary | None = None, client: str | None = None) -> Report:
    """The report on `issued` cards and the `feedback` on them (and on cards whose row was lost).
    `channels`: the clients that have ever sent feedback. Per client for every client; topics,
    rules, weeks, hooks and users of `client` only when given."""
    words = vocabulary or Bare()
    latest: dict[str, FeedbackRow] = {}
    for row in feedback:
        if row.card not in latest or row.when >= latest[row.card].when:
            latest[row.card] = row
    topics: dict[str, TopicStats] = {}
    clients: dict[str, ClientStats] = {}
    hooks: dict[str, HookStats] = {}
    rules: dict[tuple[str, str], RuleStats] = {}
    users: dict[str, UserStats] = {}
    weekly: dict[str, dict[date, WeekStats]] = {}
    seen: set[str] = set()

    def count(counts: Counts, answer: FeedbackRow | None, heard: bool, patient: str | None) -> None:
        counts.issued += 1
        if patient:
            counts.patient_keys.add(patient)
        if answer is None:
            counts.no_channel += 0 if heard else 1
            return
        counts.answered += 1
        counts.accepted += answer.outcome == "accepted"
        counts.overridden += answer.outcome != "accepted"

    for card in issued:
        seen.add(card.card)
        answer, who = latest.get(card.card), card.client or NO_CLIENT
        heard = card.client in channels
        count(clients.setdefault(who, ClientStats(client=who)), answer, heard, card.patient)
        if client is not None and who != client:
            continue
        name = card.topic or UNKNOWN
        stats = topics.setdefault(name, TopicStats(topic=name, rules=words.rules(name), acceptable=words.accepts(name)))
        per_rule = rules.setdefault((card.rule or NO_RULE, name), RuleStats(
            topic=name, rule=card.rule or NO_RULE, acceptable=words.accepts(name, card.rule)))
        user = card.user or NO_USER
        week = weekly.setdefault(name, {}).setdefault(monday(card.issued_at), WeekStats(acceptable=stats.acceptable))
        for counts in (stats, per_rule, week,
                       hooks.setdefault(card.service, HookStats(service=card.service, hook=words.hook(card.service))),
                       users.setdefault(user, UserStats(user=user))):
            count(counts, answer, heard, card.patient)
        if answer is not None:
            _why(stats, answer, words, card.rule)
            _why(per_rule, answer, words, card.rule)
    for answer in latest.values():  # feedback on cards whose issued row was lost
        who = answer.client or NO_CLIENT
        if answer.card in seen or (client is not None and who != client):
            continue
        name = answer.topic or UNKNOWN
        stats = topics.setdefault(name, TopicStats(topic=name, rules=words.rules(name), acceptable=words.accepts(name)))
        per_rule = rules.setdefault((NO_RULE, name), RuleStats(topic=name, acceptable=stats.acceptable))
        for answered in (stats, per_rule):
            answered.answered += 1
            answered.accepted += answer.outcome == "accepted"
            answered.overridden += answer.outcome != "accepted"
            _why(answered, answer, words)
    weeks = sorted({w for per_topic in weekly.values() for w in per_topic})
    if weeks:
        weeks = [weeks[0] + timedelta(weeks=i) for i in range((weeks[-1] - weeks[0]).days // 7 + 1)]
    return Report(sorted(topics.values(), key=lambda t: (-t.issued, t.topic)), weeks, weekly,
                  sorted(clients.values(), key=lambda c: (-c.issued, c.client)), client,
                  sorted(hooks.values(), key=lambda h: (-h.issued, h.service)),
                  sorted(rules.values(), key=lambda r: (r.topic, r.rule == NO_RULE, -r.issued, r.rule)),
                  sorted(users.values(), key=lambda u: (-u.issued, u.user)))


def _why(stats: TopicStats, answer: FeedbackRow, words: Vocabulary, rule: str | None = None) -> None:
    """The accepted suggestions' labels, or the override reason (offered or not, by the card's
    rule when known, else by its topic) and comment."""
    if answer.outcome == "accepted":
        stats.suggestions.update(words.suggestion(stats.topic, answer.card, s) or UNLABELLED for s in answer.suggestions)
        return
    if not answer.code:
        reason = NO_REASON
        stats.reasons[reason] += 1
    else:
        offered = (words.rule_reason(rule, answer.system or "", answer.code) if rule
                   else words.reason(stats.topic, answer.system or "", answer.code))
        reason = offered or f"{answer.display or answer.code} [{answer.code}]"
        (stats.reasons if offered else stats.unoffered)[reason] += 1
    if answer.comment and answer.comment.strip():
        stats.comments[(reason, answer.comment.strip())] += 1
