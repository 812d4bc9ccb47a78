"""Reading card-library files and checking them against the JSON Schemas in cards/schema/.

An analyst who breaks a file must learn which file, where in it, and what is wrong.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import jsonschema
import yaml

from ..core.config import ConfigError


class LibraryError(ConfigError):
    """A card library file is wrong; the message names the file, the place and the problem.
    `problems` holds every problem found (`<file>: <place>: <problem>` each); the message is the
    first, with a count of the others, so start-up still says it in one line."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)

    @classmethod
    def of(cls, problems: Sequence[str]) -> LibraryError:
        more = f" (and {len(problems) - 1} more: nerve-cds cards validate lists them all)" if len(problems) > 1 else ""
        return cls(problems[0] + more, problems)


class Problems:
    """The problems found while checking a library, so one run reports all of them: each
    independent check runs inside collect(), and raise_any() ends the check with them all."""

    def __init__(self) -> None:
        self.found: list[str] = []

    @contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except LibraryError as exc:
            self.found.extend(exc.problems)

    def raise_any(self) -> None:
        if self.found:
            raise LibraryError.of(self.found)


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
    """A card file's schema ships in the library's own schema/ folder: a folder without it is a
    problem with that library, said like any other, not a crash of the loader."""
    try:
        return json.loads((Path(cards_dir) / "schema" / f"{name}.schema.json").read_text(encoding="utf-8"))
    except OSError as exc:
        raise LibraryError(f"cards/schema/{name}.schema.json: cannot be read ({exc.strerror})") from None


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
    """LibraryError with every place the file breaks its schema: the most telling problem first,
    then one for each other place."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    best = jsonschema.exceptions.best_match(errors, key=_RELEVANCE)
    by_place: dict[tuple[Any, ...], list[jsonschema.ValidationError]] = {}
    for error in errors:
        by_place.setdefault(tuple(error.absolute_path), []).append(error)
    problems = [_problem(best)] + [_problem(jsonschema.exceptions.best_match(group, key=_RELEVANCE))
                                   for group in by_place.values()]
    raise LibraryError.of(list(dict.fromkeys(f"{where}: {_place(path)}: {problem}" for path, problem in problems)))
