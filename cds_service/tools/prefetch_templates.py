"""`nerve-cds cards prefetch`: the Condition and Observation prefetch templates, made from cards/.

The searches come from library/searches.py; this writes them into cards/services.yaml line by
line, so comments and every other key (devices, allergies, orders ...) stay as they are. A key
split over numbered continuations (`observations2`) gets the continuation's `whenMissing` entry
copied from its base key.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Mapping

import click

PREFETCH_LINE = re.compile(r"^(?P<indent> {4,})(?P<key>[A-Za-z0-9]+): \"(?P<template>[^\"]*)\"\s*$")
WHEN_MISSING_LINE = re.compile(r"^  (?P<key>[A-Za-z0-9]+): (?P<value>\{.*\})\s*$")
CONTINUATION = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<n>\d+)$")


def rewrite(text: str, searches: Mapping[str, str], owned: re.Pattern[str]) -> str:
    """services.yaml with the owned prefetch templates replaced by `searches` in every service."""
    out: list[str] = []
    in_when_missing = False
    inserted_here = False
    for line in text.splitlines():
        if line and not line.startswith(" "):
            in_when_missing = line.startswith("whenMissing:")
        prefetch = PREFETCH_LINE.match(line)
        missing = WHEN_MISSING_LINE.match(line) if in_when_missing else None
        if prefetch and owned.match(prefetch["key"]):
            if not inserted_here:
                out.extend(f'{prefetch["indent"]}{key}: "{template}"' for key, template in searches.items())
                inserted_here = True
            continue
        inserted_here = inserted_here and bool(prefetch)
        if missing and owned.match(missing["key"]) and CONTINUATION.match(missing["key"]):
            continue
        out.append(line)
        if missing and owned.match(missing["key"]):
            out.extend(f"  {key}: {missing['value']}" for key in searches
                       if (m := CONTINUATION.match(key)) and m["base"] == missing["key"])
    return "\n".join(out) + "\n"


@click.command("prefetch")
@click.argument("cards_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--write", is_flag=True, help="Write the templates into cards/services.yaml instead of printing them.")
@click.option("--max-length", type=click.IntRange(min=500), default=None,
              help="Longest search, in characters (default 4096); longer code lists are split over numbered keys.")
def cards_prefetch(cards_dir: Path | None, write: bool, max_length: int | None) -> None:
    """The Condition and Observation prefetch templates, made from the codes the findings, labs and
    measurements read (library/searches.py)."""
    from ..core.settings import Settings
    from ..library.loader import LibraryError, load_library
    from ..library.searches import MAX_QUERY, owned, searches

    directory = cards_dir or Settings.from_env().cards_dir
    try:
        library = load_library(directory)
        made = searches(library, max_length or MAX_QUERY)
    except LibraryError as exc:
        click.secho(f"INVALID: {len(exc.problems)} problem(s) in {directory}; run `nerve-cds cards validate`", fg="red", err=True)
        sys.exit(2)
    if not write:
        for key, template in made.items():
            click.echo(f"{key}: {template}")
        return
    path = directory / "services.yaml"
    path.write_text(rewrite(path.read_text(encoding="utf-8"), made, owned(library)), encoding="utf-8")
    click.echo(f"wrote {len(made)} templates per service into {path}")
