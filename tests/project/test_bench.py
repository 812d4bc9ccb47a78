"""The benchmark script still runs end to end and prints its tables, so the figures the
README quotes can always be measured again (it broke once, silently, when a test helper moved)."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers.paths import ROOT
from tests.helpers.postgres import pg_bin


def test_bench_runs_and_prints_every_figure():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--seconds", "0.2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    out = run.stdout
    engine_rows = re.findall(r"^\s+(50|500|5000)\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)$", out, re.M)
    assert [size for size, _ in engine_rows] == ["50", "500", "5000"] and all(float(r) > 0 for _, r in engine_rows)
    dev, production = out.split("(b) over HTTP", 1)[1].split("(b') the production configuration", 1)
    row = r"^\s*(50|500|5000)\s+(8|32) \|.*\|\s+([\d.]+)$"
    dev_rows = re.findall(row, dev, re.M)
    assert [(size, conc) for size, conc, _ in dev_rows] == [(s, c) for s in ("50", "500", "5000") for c in ("8", "32")]
    assert all(float(ratio) > 0 for *_, ratio in dev_rows)
    production_rows = re.findall(row, production.split("(c)", 1)[0], re.M)
    if pg_bin() is None:  # the production configuration needs PostgreSQL's server binaries
        assert "skipped: no PostgreSQL server binaries" in production
    else:
        assert [(size, conc) for size, conc, _ in production_rows] == [(s, c) for s in ("50", "500") for c in ("8", "32")]
    trips = re.search(r"FHIR round trips per hook call: ([\d.]+) \(([\d.]+) batch", out)
    assert trips and float(trips.group(2)) == 1.0 and float(trips.group(1)) >= 1.0
    parts = re.findall(r"^\s*(50|500)\s+(nothing|engine|engine\+reading) \|\s+([\d.]+) \|\s+([\d.]+) \|\s+([\d.]+)$",
                       out.split("(d) where the CPU goes", 1)[1], re.M)
    assert [(size, part) for size, part, *_ in parts] == [
        (s, p) for s in ("50", "500") for p in ("nothing", "engine", "engine+reading")]
    assert all(float(cpu) > 0 and float(floor) > 0 for *_, cpu, floor, _ in parts)
