"""Where in its file a library problem is: `<file>: <place>: <problem>` becomes
`<file>:<line>: <place>: <problem>`, the form editors and CI logs jump to.

The checks name a place as a path into the parsed data (`rules[0].when.any[1].present`); the
line comes from PyYAML's node graph of the same file (compose() keeps each node's start mark).
JSON value sets are read the same way, JSON being YAML as far as these files go.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import yaml

PROBLEM = re.compile(r"^(?P<file>[^\s:]+\.(?:yaml|json)): (?P<rest>.*)$", re.S)
PLACE = re.compile(r"^(?P<place>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+|\[\d+\])*|\(top level\)): (?P<problem>.*)$", re.S)
TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
SYNTAX = re.compile(r"not valid YAML at line (\d+)")
UNKNOWN_KEY = re.compile(r"unknown key '([^']+)'")


def _node(path: Path, cache: dict[Path, yaml.Node | None]) -> yaml.Node | None:
    if path not in cache:
        try:
            cache[path] = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            cache[path] = None
    return cache[path]


def line_of(root: yaml.Node, place: str) -> int | None:
    """1-based line of `place` (a key's own line for a mapping entry); the deepest part found
    when the rest is missing (a required key that is absent); None if even the first is not there."""
    if place == "(top level)":
        return root.start_mark.line + 1
    node, line = root, None
    for index, key in TOKEN.findall(place):
        if isinstance(node, yaml.SequenceNode) and index:
            items = node.value
            if int(index) >= len(items):
                break
            node = items[int(index)]
            line = node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode) and key:
            found = next(((k, v) for k, v in node.value if str(k.value) == key), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        else:
            break
    return line


def with_lines(problems: Iterable[str], cards_dir: Path) -> list[str]:
    """Each problem with the line it is on, where it can be found; the file keeps its name in the
    library (`cards/rules/motor.yaml`), read from `cards_dir`."""
    cache: dict[Path, yaml.Node | None] = {}
    out = []
    for problem in problems:
        match = PROBLEM.match(problem)
        if not match:
            out.append(problem)
            continue
        file = Path(cards_dir) / Path(*Path(match["file"]).parts[1:])
        rest, line = match["rest"], None
        place = PLACE.match(rest)
        syntax = SYNTAX.match(rest)
        if syntax:
            line = int(syntax.group(1))
        elif place and (root := _node(file, cache)) is not None:
            unknown = UNKNOWN_KEY.match(place["problem"])  # the misspelt key's own line, not its parent's
            line = (unknown and line_of(root, f"{place['place']}.{unknown.group(1)}".removeprefix("(top level)."))
                    or line_of(root, place["place"]))
        out.append(f"{match['file']}:{line}: {rest}" if line else problem)
    return out
