"""The benchmark script still runs end to end and prints its three tables, so the figures the
README quotes can always be measured again (it broke once, silently, when a test helper moved)."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers.paths import ROOT


def test_bench_runs_and_prints_every_figure():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--seconds", "0.2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    out = run.stdout
    engine_rows = re.findall(r"^\s+(50|500|5000)\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)$", out, re.M)
    assert [size for size, _ in engine_rows] == ["50", "500", "5000"] and all(float(r) > 0 for _, r in engine_rows)
    http_rows = re.findall(r"^\s+(50|500)\s+(8|32) \|.*\|\s+([\d.]+)$", out, re.M)
    assert len(http_rows) == 4 and all(float(ratio) > 0 for *_, ratio in http_rows)
    trips = re.search(r"FHIR round trips per hook call: ([\d.]+) \(([\d.]+) batch", out)
    assert trips and float(trips.group(2)) == 1.0 and float(trips.group(1)) >= 1.0
