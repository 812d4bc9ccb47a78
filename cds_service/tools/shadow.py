"""`nerve-cds shadow`: what the candidate card library (NERVE_CDS_SHADOW_CARDS_DIR) would have
changed on real hook calls, per day and topic, and the purge of differences past their retention.
Counts only: the patients and encounters behind them are shown in the workbench, which audits
who looked (/workbench/shadow)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

import click

from ..core.settings import Settings
from ..storage import open_storage
from ..storage.interface import StoreUnavailable
from ..storage.shadow import CHANGES


@click.group()
def shadow() -> None:
    """Shadow mode: a candidate card library answering beside the live one."""


@shadow.command("report")
@click.option("--days", type=click.IntRange(1, 3650), help="How far back to look [default: the retention period].")
@click.option("--json", "as_json", is_flag=True)
def shadow_report(days: int | None, as_json: bool) -> None:
    """Per day and card topic: the hook calls on which the candidate library's cards differ from
    the live ones (gained, lost, another indicator, other wording, other suggestions) and how many
    patients."""
    settings = Settings.from_env()
    days = days or settings.shadow_retention_days
    try:
        rows = open_storage(settings.database_url).shadow.day_topics(datetime.now(timezone.utc) - timedelta(days=days))
    except StoreUnavailable as exc:
        click.secho(f"nerve-cds: feedback database unavailable ({exc})", fg="red", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"days": days, "retentionDays": settings.shadow_retention_days,
                               "differences": [row.as_json() for row in rows]}, indent=2))
        return
    if not rows:
        click.echo(f"No differences between the candidate and the live library in the last {days} day(s).")
        return
    click.echo(f"{'day':10}  {'topic':34} {'gained':>6} {'lost':>5} {'indicator':>9} {'wording':>7} {'suggestions':>11} "
               f"{'calls':>6} {'patients':>8}")
    for row in rows:
        counts = " ".join(f"{row.changes[c]:>{w}}" for c, w in zip(CHANGES, (6, 5, 9, 7, 11)))
        click.echo(f"{row.day.isoformat():10}  {row.topic:34} {counts} {row.calls:6} {row.patients:8}")
    click.echo("Patients and encounters, for chart review: /workbench/shadow (access audited).")


@shadow.command("purge")
def shadow_purge() -> None:
    """Delete the differences older than NERVE_CDS_SHADOW_RETENTION_DAYS (the service also does it
    as it writes)."""
    settings = Settings.from_env()
    try:
        removed = open_storage(settings.database_url).shadow.purge(
            datetime.now(timezone.utc) - timedelta(days=settings.shadow_retention_days))
    except StoreUnavailable as exc:
        click.secho(f"nerve-cds: feedback database unavailable ({exc})", fg="red", err=True)
        sys.exit(1)
    click.echo(f"OK: {removed} shadow difference(s) older than {settings.shadow_retention_days} day(s) deleted")
