"""Reading card-library files and checking them against the JSON Schemas in cards/schema/.

An analyst who breaks a file must learn which file, where in it, and what is wrong.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

from ..core.config import ConfigError


class LibraryError(ConfigError):
    """A card library file is wrong; the message names the file, the place and the problem."""


# libyaml's safe loader when PyYAML was built with it: the pure-Python one was 85% of load time.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, where: str) -> Any:
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as exc:
        raise LibraryError(f"{where}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LibraryError(f"{where}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


def read_schema(cards_dir: Path, name: str) -> Mapping[str, Any]:
    return json.loads((Path(cards_dir) / "schema" / f"{name}.schema.json").read_text(encoding="utf-8"))


def _place(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def check_schema(data: Any, schema: Mapping[str, Any], where: str) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise LibraryError(f"{where}: {_place(best.absolute_path)}: {best.message}")
