"""`nerve-cds serve --dev` with parts of a hook call answered from the first call's result, to
attribute the service's CPU: what is left when the engine, or the engine and the FHIR reading,
cost nothing. A measuring instrument for bench/run.py (d), never a way to run the service: every
call gets the first call's cards, whatever its body.

    python bench/without.py engine|engine+reading --port N
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cds_service.tools.cli import main  # noqa: E402
from cds_service.web import api  # noqa: E402

PARTS = ("engine", "engine+reading")


def first_answer(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` run once; every later call gets that answer back."""
    kept: list[Any] = []

    def answer(*args: Any, **kwargs: Any) -> Any:
        if not kept:
            kept.append(fn(*args, **kwargs))
        return kept[0]
    return answer


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("without", choices=PARTS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    api.advise = first_answer(api.advise)  # type: ignore[assignment]
    if args.without == "engine+reading":
        api.prefetch.gather = first_answer(api.prefetch.gather)  # type: ignore[assignment]
    sys.argv = ["nerve-cds", "serve", "--dev", "--host", "127.0.0.1", "--port", str(args.port), "--workers", str(args.workers)]
    main()


if __name__ == "__main__":
    run()
