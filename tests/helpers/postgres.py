"""A throwaway PostgreSQL cluster on a free port (Debian's postgresql server binaries): the
storage tests' database, and the benchmark's production configuration."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.helpers.fhir_server import free_port


def pg_bin() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(candidates[-1]) if candidates else None


@contextmanager
def throwaway_postgres(bindir: str) -> Iterator[str]:
    """The cluster's SQLAlchemy URL while the block runs; stopped and removed after."""
    data = Path(tempfile.mkdtemp(prefix="nerve-cds-pg-"))  # outside pytest's root-only tmp tree
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres")
        os.chmod(data, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", str(data / "db"), "-U", "postgres", "-A", "trust"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", str(data / "db"), "-o", f"-p {port} -k {data} -h 127.0.0.1",
                              "-l", str(data / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", str(data / "db"), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
