"""docs/clinical-safety.md is the clinical sign-off document: it must describe every rule and every
threshold the card library has, so a rule or setting added without sign-off text fails here."""
from __future__ import annotations

import re

import yaml

from tests.helpers.paths import CARDS, DOCS

DOC = DOCS / "clinical-safety.md"


def rule_ids() -> list[str]:
    ids = []
    for path in sorted((CARDS / "rules").glob("*.yaml")):
        ids += [rule["id"] for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]]
    return ids


def settings() -> dict:
    return yaml.safe_load((CARDS / "settings.yaml").read_text(encoding="utf-8"))


def test_the_library_is_read_at_all():
    # guards the two tests below against passing on an empty list
    assert len(rule_ids()) >= 20 and "CES-1" in rule_ids()
    assert len(settings()["thresholds"]) >= 15


def test_every_rule_has_its_own_section():
    headings = set(re.findall(r"^#### (\S+)\s*$", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    missing = [rule for rule in rule_ids() if rule not in headings]
    assert not missing, f"rules with no section in {DOC.name}: {missing}"


def test_every_threshold_and_design_choice_is_described():
    text = DOC.read_text(encoding="utf-8")
    conf = settings()
    names = [*conf["thresholds"], *conf.get("design_choices", {}), *conf.get("labelled_choices", {})]
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, f"settings not described in {DOC.name}: {missing}"


def test_thresholds_table_shows_the_current_defaults():
    text = DOC.read_text(encoding="utf-8")
    for name, spec in settings()["thresholds"].items():
        row = re.search(rf"^\| `{re.escape(name)}` \| ([^|]+) \|", text, re.MULTILINE)
        assert row, f"{name} has no row in the thresholds table"
        assert float(row.group(1)) == float(spec["value"]), f"{name}: document says {row.group(1).strip()}, settings say {spec['value']}"


def test_every_card_topic_is_listed():
    text = DOC.read_text(encoding="utf-8")
    missing = [t["code"] for t in settings()["topics"] if f"| `{t['code']}` |" not in text]
    assert not missing, f"topics not in the topic table: {missing}"


def sign_off_checklist() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## 6. What the clinical lead must confirm before go-live")
    return text[start:text.index("\n## 7.", start)]


def test_the_sign_off_checklist_lists_exactly_the_design_choices_in_settings():
    """Every setting with design_choice: true has its own tick box with its current value, and every
    name ticked is a setting: a design choice added (or renamed) without its sign-off line fails."""
    checklist = sign_off_checklist()
    conf = settings()
    thresholds = {name: spec for name, spec in conf["thresholds"].items() if spec.get("design_choice")}
    ticked = dict(re.findall(r"^- \[ \] `([^`]+)` = ([0-9.]+) ", checklist, re.MULTILINE))
    assert set(ticked) == set(thresholds), (
        f"missing: {sorted(set(thresholds) - set(ticked))}; not a design-choice setting: {sorted(set(ticked) - set(thresholds))}")
    wrong = {name: value for name, value in ticked.items() if float(value) != float(thresholds[name]["value"])}
    assert not wrong, f"checklist values differ from settings.yaml: {wrong}"
    choices = {*conf.get("design_choices", {}), *conf.get("labelled_choices", {})}
    boxes = set(re.findall(r"^- \[ \] `([^`]+)`\s*$", checklist, re.MULTILINE))
    assert boxes == choices, f"missing: {sorted(choices - boxes)}; unknown: {sorted(boxes - choices)}"
