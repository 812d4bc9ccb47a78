"""nerve-cds: a CDS Hooks 2.0 service for pinched nerves, cauda equina red flags and twitching.

The subpackages, in the order a hook call meets them:

    web       HTTP surface: endpoints, errors as OperationOutcome, CORS, client JWTs and trust
    hooks     the hook registry, the request and each hook's context as typed models
    data      gathering FHIR data: prefetch as sent, the rest fetched; fixture scenarios
    engine    record -> evidence -> findings -> rules -> cards
    library   the card library in cards/, loaded and cross-checked once at start-up
    storage   feedback, cards issued and used JWT ids, behind an interface (SQL + migrations)

and beside the hook path:

    workbench the informatics team's pages and reports: explain cards, preview a library change,
              feedback analytics (registered by web only when enabled)
    tools     the `nerve-cds` command line: serve, validate and diff the library, fixtures, invoke
    core      settings, errors, FHIR JSON and date helpers that every layer shares

Imports go one way: tools -> web -> workbench -> {data, engine, storage} ; data -> hooks ;
engine -> {library, hooks, data} ; library -> hooks ; everything -> core. Nothing imports web or tools.
"""
from .web.app import create_app

__all__ = ["create_app"]
