"""The install is reproducible: constraints.txt pins every package exactly, covers every
dependency pyproject.toml names (within its lower bound), and the README's commands, .ci/run and
the Dockerfile install through it."""
from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers.paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LINES = [line.strip() for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()]
PINS = [line for line in LINES if line and not line.startswith("#")]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def pinned() -> dict[str, Version]:
    versions = {}
    for line in PINS:
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==" and "*" not in spec.version, f"not an exact pin: {line}"
        versions[canonicalize_name(requirement.name)] = Version(spec.version)
    return versions


def test_every_line_is_one_exact_pin_and_no_package_twice():
    assert len(pinned()) == len(PINS) > 50


def test_every_dependency_is_pinned_within_its_lower_bound_and_the_project_is_not():
    versions = pinned()
    project = PYPROJECT["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in versions, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(versions[name], prereleases=True), (requirement, versions[name])
    assert canonicalize_name(project["name"]) not in versions


def test_the_readme_ci_and_the_image_install_through_the_constraints():
    service = ".venv/bin/pip install -q -c constraints.txt -e . && .venv/bin/nerve-cds serve --dev"
    tests = "python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e '.[test]' && .venv/bin/python -m pytest -q"
    assert service in README and tests in README
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert ci[-1] == tests, "the last line of .ci/run is the README's second command, verbatim"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY .*\bconstraints\.txt\b", dockerfile, re.M)
    assert re.search(r"^RUN pip install .*-c constraints\.txt ", dockerfile, re.M)
    assert not re.search(r"pip install (?!.*-c constraints\.txt)", README), "every pip install in the README is pinned"
