"""Service settings: one frozen object, read once from keyword overrides or the environment.

Every field can be set through an environment variable named ``NERVE_CDS_<FIELD>`` (upper case),
so an operator never has to touch Python. Clinical thresholds are not here: they live in cards/.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "NERVE_CDS_"


def _default_cards_dir() -> Path:
    """The card library shipped in the wheel, or the repository's cards/ in a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "cards"
    return packaged if packaged.is_dir() else here.parent / "cards"


def _default_fixtures_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "fixtures"
    return packaged if packaged.is_dir() else here.parent / "fixtures"


@dataclass(frozen=True)
class Settings:
    """What an operator can change without a code change."""

    # Dev mode: client authentication may be switched off and plain-http loopback FHIR servers
    # are allowed. Never in production.
    dev: bool = False
    # Only honoured in dev mode: when False, callers are not authenticated.
    auth_enabled: bool = True
    cards_dir: Path = field(default_factory=_default_cards_dir)
    fixtures_dir: Path = field(default_factory=_default_fixtures_dir)
    database_url: str = "sqlite:///nerve-cds-feedback.db"
    # The URL clients call us at (scheme://host[:port][/prefix]); JWT `aud` is checked against it.
    public_base_url: str = ""
    trust_file: Path | None = None
    # FHIR servers we may contact: "scheme://host[:port][/path-prefix]" entries.
    fhir_allowlist: tuple[str, ...] = ()
    # Plain http to allowlisted FHIR servers (a private network such as the compose stack only).
    fhir_allow_http: bool = False
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 2_000_000
    fhir_connect_timeout: float = 3.0
    fhir_read_timeout: float = 8.0
    # One budget for all FHIR work of a hook call (every batch, read and page), in seconds.
    fhir_deadline: float = 5.0
    fhir_max_pages: int = 20
    fhir_max_response_bytes: int = 20_000_000
    # Opt-in: return the PAMA appropriateness rating as a systemActions update.
    pama_system_actions: bool = False
    log_level: str = "INFO"

    @property
    def authenticate(self) -> bool:
        """Authentication can only be off in dev mode."""
        return self.auth_enabled or not self.dev

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then ``NERVE_CDS_*`` variables, then explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f.type, raw)
        values.update(overrides)
        return cls(**values)

    def with_changes(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def _convert(type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if "Path" in kind:
        return Path(raw) if raw else None
    return raw
