"""The rule language: each condition kind a rule may use, and the kind of argument it takes.

The library checks rules against this table at load; the engine implements each kind
(engine/predicates.py) and refuses to start if one is missing. Argument kinds: a list of names
(findings, labs, medications, topics), one setting, or a mapping checked field by field.
"""
from __future__ import annotations

# Placeholders the engine fills in card text, besides every threshold in cards/settings.yaml
# (`{name}`, and `{name_weeks}` for the same value in weeks). Text naming anything else is refused
# at load, so a `{trigers}` typo is found by `nerve-cds cards validate`, not on an emergency card.
TEXT_VALUES = frozenset({"triggers", "contributors", "low_labs", "lab_values", "labs_not_measured", "missing_data", "age"})

ARGUMENTS: dict[str, str] = {
    "present": "findings",
    "absent": "findings",
    "negated": "findings",
    "previously_positive": "findings",
    "bilateral": "findings",
    "progressive": "findings",
    "suspected_only": "findings",
    "onset_within": "onset",
    "onset_at_least": "onset",
    "onset_unknown": "findings",
    "sites_at_least": "sites",
    "lab_low": "labwindow",
    "lab_critical_low": "labwindow",
    "study": "study",
    "new_since_study": "since",
    "lab_checked_within": "labcheck",
    "age_at_least": "setting",
    "medication": "medications",
    "fired": "topics",
    "draft": "draft",
    "no_draft": "draft",
    "draft_duplicate": "draft",
    "bilateral_within": "onset",
    "onset_since": "relative",
    "active_episode": "onset",
    "graded_at_most": "grade",
    "noting_labs": "labwindow",
    "age_under": "setting",
    "about_drafts": "draft",
    "medication_within": "medwithin",
    "medication_for_at_least": "medlong",
    "data_missing": "prefetch",
}
