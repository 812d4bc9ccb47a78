"""cards/context.yaml: how the patient's pregnancy is read, and the policies every response keeps
(protected orders, one imaging order per study, no repeat of a recent study). Read once at load; every name it uses must resolve.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from .rules import check_placeholders
from .schema import LibraryError, check_schema, read_schema, read_yaml

WHERE = "cards/context.yaml"


@dataclass(frozen=True)
class PregnancyDefs:
    finding: str
    ended_by: str
    status_observation: frozenset[str]
    status_pregnant: frozenset[str]
    status_not_pregnant: frozenset[str]
    due_date_observation: frozenset[str]
    gestational_age_observation: frozenset[str]
    term_days: int
    code_recent_days: str  # a threshold in cards/settings.yaml
    postpartum_end_days: str  # a threshold in cards/settings.yaml
    without_contrast: Mapping[str, str]  # order -> the same study without contrast
    summary_wording: Mapping[str, str]  # words of a summary replaced in pregnancy
    imaging_remark: str
    draft_without_contrast: Mapping[str, str]  # study kind -> order whose study is it without contrast

    @cached_property
    def observation_concepts(self) -> frozenset[str]:
        """Value sets of every Observation that can say the patient is pregnant or when she is due."""
        return self.status_observation | self.due_date_observation | self.gestational_age_observation


@dataclass(frozen=True)
class OrderPolicy:
    imaging_kinds: frozenset[str]
    contrast: frozenset[str]
    protected_priorities: frozenset[str]
    imaging_protected_below_age: str  # a threshold in cards/settings.yaml
    protected_remark: str
    merged_remark: str
    contrast_studies: str  # the order whose requests are each region's study with contrast
    contrast_wording: Mapping[str, str]  # words of a label replaced when a merged order takes contrast


@dataclass(frozen=True)
class RepeatPolicy:
    windows: Mapping[str, str]  # study kind -> the threshold in cards/settings.yaml that is its window
    override: frozenset[str]  # findings that, documented after the study, allow it again
    remark: str  # names {study} and {date}


@dataclass(frozen=True)
class MrSafety:
    implant_findings: frozenset[str]
    implant_studies: frozenset[str]  # study kinds (Device types) that are implants
    mri_kinds: frozenset[str]  # study kinds that are an MRI
    remark: str


@dataclass(frozen=True)
class CheckGroup:
    label: str
    findings: tuple[str, ...]
    medications: tuple[str, ...] = ()  # drug classes that also count as found
    readings: Mapping[str, str] = field(default_factory=dict)  # measured finding -> what its value is called


@dataclass(frozen=True)
class RecordCheck:
    """How a card's "Checked in the record" line is worded (§6.0.3, §6.14)."""

    heading: str
    basis: str  # what the check rests on: "coded data only; clinical notes not read"
    none_found: str  # names {items}
    found: str
    ask: str
    groups: Mapping[str, CheckGroup]
    reading: str  # a measured value the record holds: names {name}, {value}, {date}
    raised_reading: str  # the same, raised
    units: Mapping[str, str]  # canonical UCUM unit -> as a card writes it


@dataclass(frozen=True)
class RenalPolicy:
    """Renal function changes the study, not the indication (§6.2 Card)."""

    findings: frozenset[str]
    contrast_kinds: frozenset[str]  # value sets of a study with contrast
    source: str
    remark: str  # names {found}


@dataclass(frozen=True)
class ContextDefs:
    pregnancy: PregnancyDefs
    orders: OrderPolicy
    repeats: RepeatPolicy
    mr_safety: MrSafety
    record_check: RecordCheck
    renal: RenalPolicy


def load_context(cards_dir: Path, *, valuesets: frozenset[str], findings: frozenset[str], settings: frozenset[str],
                 orders: frozenset[str], study_kinds: frozenset[str], medications: frozenset[str] = frozenset(),
                 sources: frozenset[str] = frozenset()) -> ContextDefs:
    data = read_yaml(Path(cards_dir) / "context.yaml", WHERE)
    check_schema(data, read_schema(cards_dir, "context"), WHERE)
    preg, policy, repeats, mr = data["pregnancy"], data["orders"], data["repeats"], data["mr_safety"]
    check, renal = data["record_check"], data["renal"]

    def pool(values: Any, known: frozenset[str], place: str, word: str) -> frozenset[str]:
        for value in [values] if isinstance(values, str) else values:
            if value not in known:
                raise LibraryError(f"{WHERE}: {place}: unknown {word} '{value}'")
        return frozenset([values] if isinstance(values, str) else values)

    for key in ("status_observation", "status_pregnant", "status_not_pregnant", "due_date_observation",
                "gestational_age_observation"):
        pool(preg[key], valuesets, f"pregnancy.{key}", "value set")
    pool([preg["finding"], preg["ended_by"]], findings, "pregnancy.finding", "finding")
    pool([preg["code_recent_days"], preg["postpartum_end_days"]], settings, "pregnancy", "setting")
    for name, replacement in preg["without_contrast"].items():
        pool([name, replacement], orders, f"pregnancy.without_contrast.{name}", "order")
    for kind, order in preg["draft_without_contrast"].items():
        pool(kind, study_kinds, f"pregnancy.draft_without_contrast.{kind}", "order kind")
        pool(order, orders, f"pregnancy.draft_without_contrast.{kind}", "order")
    pool(policy["imaging_kinds"], study_kinds, "orders.imaging_kinds", "order kind")
    pool(policy["contrast_studies"], orders, "orders.contrast_studies", "order")
    pool(policy["contrast"], valuesets, "orders.contrast", "value set")
    pool(policy["imaging_protected_below_age"], settings, "orders.imaging_protected_below_age", "setting")
    # the remarks join a card's detail, which is filled like any card text
    check_placeholders(preg["imaging_remark"], f"{WHERE}: pregnancy.imaging_remark", settings)
    check_placeholders(policy["protected_remark"], f"{WHERE}: orders.protected_remark", settings)
    named = {name for _, name, _, _ in string.Formatter().parse(policy["merged_remark"]) if name is not None}
    if named != {"study", "card"}:
        raise LibraryError(f"{WHERE}: orders.merged_remark: must name {{study}} and {{card}}, and nothing else")
    windows: dict[str, str] = {}
    for setting, kinds in repeats["windows"].items():
        pool(setting, settings, f"repeats.windows.{setting}", "setting")
        pool(kinds, study_kinds, f"repeats.windows.{setting}", "order kind")
        windows.update(dict.fromkeys(kinds, setting))
    pool(repeats["override"], findings, "repeats.override", "finding")
    named = {name for _, name, _, _ in string.Formatter().parse(repeats["remark"]) if name is not None}
    if named != {"study", "date"}:
        raise LibraryError(f"{WHERE}: repeats.remark: must name {{study}} and {{date}}, and nothing else")
    for name, group in check["groups"].items():
        pool(group["findings"], findings, f"record_check.groups.{name}.findings", "finding")
        pool(group.get("medications", []), medications, f"record_check.groups.{name}.medications", "medication")
        pool(list(group.get("readings", {})), findings, f"record_check.groups.{name}.readings", "finding")
    if {n for _, n, _, _ in string.Formatter().parse(check["none_found"]) if n is not None} != {"items"}:
        raise LibraryError(f"{WHERE}: record_check.none_found: must name {{items}}, and nothing else")
    for key in ("reading", "raised_reading"):
        if {n for _, n, _, _ in string.Formatter().parse(check[key]) if n is not None} != {"name", "value", "date"}:
            raise LibraryError(f"{WHERE}: record_check.{key}: must name {{name}}, {{value}} and {{date}}, and nothing else")
    pool(renal["findings"], findings, "renal.findings", "finding")
    pool(renal["contrast_kinds"], valuesets, "renal.contrast_kinds", "value set")
    pool(renal["source"], sources, "renal.source", "source")
    if {n for _, n, _, _ in string.Formatter().parse(renal["remark"]) if n is not None} != {"found"}:
        raise LibraryError(f"{WHERE}: renal.remark: must name {{found}}, and nothing else")
    return ContextDefs(
        pregnancy=PregnancyDefs(
            finding=preg["finding"],
            ended_by=preg["ended_by"],
            status_observation=frozenset(preg["status_observation"]),
            status_pregnant=frozenset(preg["status_pregnant"]),
            status_not_pregnant=frozenset(preg["status_not_pregnant"]),
            due_date_observation=frozenset(preg["due_date_observation"]),
            gestational_age_observation=frozenset(preg["gestational_age_observation"]),
            term_days=preg["term_days"],
            code_recent_days=preg["code_recent_days"],
            postpartum_end_days=preg["postpartum_end_days"],
            without_contrast=dict(preg["without_contrast"]),
            summary_wording=dict(preg["summary_wording"]),
            imaging_remark=" ".join(preg["imaging_remark"].split()),
            draft_without_contrast=dict(preg["draft_without_contrast"]),
        ),
        orders=OrderPolicy(
            imaging_kinds=frozenset(policy["imaging_kinds"]),
            contrast=frozenset(policy["contrast"]),
            protected_priorities=frozenset(policy["protected_priorities"]),
            imaging_protected_below_age=policy["imaging_protected_below_age"],
            protected_remark=" ".join(policy["protected_remark"].split()),
            merged_remark=policy["merged_remark"],
            contrast_studies=policy["contrast_studies"],
            contrast_wording=dict(policy["contrast_wording"]),
        ),
        repeats=RepeatPolicy(windows=windows, override=frozenset(repeats["override"]), remark=repeats["remark"]),
        mr_safety=MrSafety(
            implant_findings=pool(mr["implant_findings"], findings, "mr_safety.implant_findings", "finding"),
            implant_studies=pool(mr["implant_studies"], study_kinds, "mr_safety.implant_studies", "order kind"),
            mri_kinds=pool(mr["mri_kinds"], study_kinds, "mr_safety.mri_kinds", "order kind"),
            remark=" ".join(mr["remark"].split()),
        ),
        record_check=RecordCheck(
            heading=check["heading"], basis=check["basis"], none_found=check["none_found"], found=check["found"],
            ask=check["ask"], reading=check["reading"], raised_reading=check["raised_reading"], units=dict(check["units"]),
            groups={name: CheckGroup(g["label"], tuple(g["findings"]), tuple(g.get("medications", [])),
                                     dict(g.get("readings", {})))
                    for name, g in check["groups"].items()},
        ),
        renal=RenalPolicy(findings=frozenset(renal["findings"]), contrast_kinds=frozenset(renal["contrast_kinds"]),
                          source=renal["source"], remark=" ".join(renal["remark"].split())),
    )
