"""A rule's `when` tree (all / any / not over the condition kinds of engine/predicates.py).

In explain mode the tree is walked, each node recording what it decided; otherwise it runs as
one Python callable built from the tree once, so a hook call does no walk of rule structure.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from .predicates import PREDICATES, Context, Fact, Result
from .trace import NodeTrace


def evaluate(node: Mapping[str, Any], ctx: Context, trace: list[NodeTrace] | None = None) -> Result:
    """A `when` tree: all / any / not, or one predicate.

    With a `trace` list (explain mode) each node appends what it decided, its facts and its
    children's traces; without one the walk costs nothing extra. `all` stops at the first
    condition that fails, in both modes, so a trace lists only the conditions that ran.
    """
    (kind, arg), = node.items()
    kids: list[NodeTrace] | None = None if trace is None else []
    result: Result
    if kind == "all":
        facts: list[Fact] = []
        result = True, facts
        for child in arg:
            ok, found = evaluate(child, ctx, kids)
            if not ok:
                result = False, []
                break
            facts += found
    elif kind == "any":
        hits = [evaluate(child, ctx, kids) for child in arg]
        result = any(ok for ok, _ in hits), [f for ok, found in hits if ok for f in found]
    elif kind == "not":
        ok, _ = evaluate(arg, ctx, kids)
        result = not ok, []
    else:
        result = PREDICATES[kind](arg, ctx)
    if trace is not None:
        trace.append(NodeTrace(kind, arg, result[0], tuple(result[1]), tuple(kids or ())))
    return result


Compiled = Callable[[Context], Result]
_compiled: dict[int, tuple[Mapping[str, Any], Compiled]] = {}


def compiled(node: Mapping[str, Any]) -> Compiled:
    """A `when` tree as one Python callable, built on first use and kept with the library's own
    tree (whose identity it is keyed by): a call then does no dictionary walk of rule structure.
    Same result as evaluate() without a trace; explain mode keeps using evaluate()."""
    kept = _compiled.get(id(node))
    if kept is None or kept[0] is not node:
        kept = _compiled[id(node)] = (node, _compile(node))
    return kept[1]


def _compile(node: Mapping[str, Any]) -> Compiled:
    (kind, arg), = node.items()
    if kind == "all":
        parts = [_compile(child) for child in arg]

        def all_of(ctx: Context) -> Result:
            facts: list[Fact] = []
            for part in parts:
                ok, found = part(ctx)
                if not ok:
                    return False, []
                facts += found
            return True, facts
        return all_of
    if kind == "any":
        options = [_compile(child) for child in arg]

        def any_of(ctx: Context) -> Result:
            hits = [option(ctx) for option in options]
            return any(ok for ok, _ in hits), [f for ok, found in hits if ok for f in found]
        return any_of
    if kind == "not":
        inner = _compile(arg)

        def none_of(ctx: Context) -> Result:
            return not inner(ctx)[0], []
        return none_of
    check = PREDICATES[kind]
    return lambda ctx: check(arg, ctx)
