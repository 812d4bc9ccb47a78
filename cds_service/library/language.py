"""The rule language: each condition kind a rule may use, and the shape of its argument.

The library checks rules against these tables at load; the engine implements each kind
(engine/predicates.py) and refuses to start if one is missing. So a typo anywhere in a rule,
even in an optional field such as `unknown_counts`, stops the library loading instead of
quietly changing what a card does.
"""
from __future__ import annotations

from typing import Mapping

# Placeholders the engine fills in card text, besides every threshold in cards/settings.yaml
# (`{name}`, and `{name_weeks}` for the same value in weeks). Text naming anything else is refused
# at load, so a `{trigers}` typo is found by `nerve-cds cards validate`, not on an emergency card.
TEXT_VALUES = frozenset({"triggers", "contributors", "low_labs", "low_labs_brief", "lab_values", "labs_not_measured",
                         "missing_data", "age", "unreadable_count", "unreadable_labels"})

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
    "no_draft": "drafts",
    "draft_duplicate": "duplicate",
    "bilateral_within": "onset",
    "onset_since": "relative",
    "active_episode": "onset",
    "graded_at_most": "grade",
    "noting_labs": "labwindow",
    "age_under": "setting",
    "about_drafts": "drafts",
    "medication_within": "medwithin",
    "medication_for_at_least": "medlong",
    "data_missing": "prefetch",
    "unreadable": "findings",
    "later_than_study": "afterstudy",
    "progressive_limbs": "limbs",
    "pregnant": "yesno",
    "unexplained_sign": "explained",
}

# A field of a mapping argument is one of the library's pools of names (a field of
# library.rules.Names: a name or a list of names from it), "count" (a whole number), "flag"
# (true or false) or a tuple of the words it may be. A field name ending in "?" is optional.
Field = str | tuple[str, ...]
STUDY_FIELDS: Mapping[str, Field] = {
    "kinds": "study_kinds",
    "state?": ("any", "done", "open"),
    "within?": "settings",
    "open_within?": "settings",
    "since_onset_of?": "findings",
    "conclusion?": "valuesets",
}

# Each argument kind: a pool of names (the argument is a name or a list of them), or the fields
# of a mapping.
SHAPES: Mapping[str, str | Mapping[str, Field]] = {
    "findings": "findings",
    "labs": "labs",
    "medications": "medications",
    "topics": "topics",
    "setting": "settings",
    "prefetch": "prefetch_keys",
    "yesno": "flag",
    "onset": {"findings": "findings", "days": "settings", "unknown_counts?": "flag"},
    "relative": {"findings": "findings", "since": "findings", "unknown_counts?": "flag", "lead?": "settings"},
    "sites": {"findings": "findings", "sites": "sites", "count": "count"},
    "grade": {"findings": "findings", "value": "settings"},
    "labwindow": {"labs": "labs", "within": "settings"},
    "study": STUDY_FIELDS,
    "since": {"findings": "findings", "kinds": "study_kinds"},
    "labcheck": {"labs": "labs", "days": "settings", "kinds?": "study_kinds"},
    "medwithin": {"kinds": "medications", "within": "settings"},
    "medlong": {"kinds": "medications", "days": "settings"},
    "draft": {"kinds": "study_kinds", "priority_not?": ("routine", "urgent", "asap", "stat")},
    "drafts": {"kinds": "study_kinds"},
    "duplicate": {"kinds": "study_kinds", "within?": "settings", "open_within?": "settings"},
    "afterstudy": {"findings": "findings", "kinds": "study_kinds", "days": "settings"},
    "limbs": {"findings": "findings", "count": "count", "days": "settings"},
    "explained": {"findings": "findings", "by": "findings", "days": "settings", "stable_days?": "settings"},
}

# How an error message names one entry of each pool.
POOL_WORDS: Mapping[str, str] = {
    "findings": "finding",
    "labs": "lab",
    "settings": "setting",
    "sites": "site",
    "study_kinds": "order kind",
    "medications": "medication",
    "topics": "card topic",
    "valuesets": "value set",
    "prefetch_keys": "prefetch key",
}
