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


def _problem(error: jsonschema.ValidationError) -> tuple[Any, str]:
    """Where and what, in an analyst's words: an `errorMessage` in the schema (on the failing
    node or one enclosing it) wins, so a schema puts it on a node holding that one check only;
    unknown and missing keys are named plainly."""
    err: Any = error  # jsonschema types schema and instance loosely (they may be "unset")
    while err is not None:
        if isinstance(err.schema, Mapping) and "errorMessage" in err.schema:
            return err.absolute_path, err.schema["errorMessage"]
        err = err.parent
    schema: Any = error.schema
    instance: Any = error.instance
    required: Any = error.validator_value
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(instance) - set(allowed))
        return error.absolute_path, f"unknown key '{extra[0]}' (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        missing = [key for key in required if key not in instance]
        return error.absolute_path, f"missing required key '{missing[0]}'"
    return error.absolute_path, error.message


# A misspelt key explains most other errors in the same object, so it is reported first.
_RELEVANCE = jsonschema.exceptions.by_relevance(strong=frozenset({"additionalProperties"}))


def check_schema(data: Any, schema: Mapping[str, Any], where: str) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        path, problem = _problem(jsonschema.exceptions.best_match(errors, key=_RELEVANCE))
        raise LibraryError(f"{where}: {_place(path)}: {problem}")
