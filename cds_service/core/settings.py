"""Service settings: one frozen, validated object, read once from keyword overrides or the environment.

Every field can be set through an environment variable named ``NERVE_CDS_<FIELD>`` (upper case),
so an operator never has to touch Python. A misspelt variable or a value of the wrong type stops
the service at start-up with a one-line message naming it. Clinical thresholds are not here:
they live in cards/.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .config import ConfigError
from .urls import UrlError, parse_base_url
from .validation import describe

ENV_PREFIX = "NERVE_CDS_"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# What a browser sends as Origin: scheme://host[:port], nothing after it (flask-cors compares the
# whole string, and reads `*`, `?`, `[`... as a regular expression).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(rf"https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?",
                    re.IGNORECASE)


# A base URL as clients call it: scheme, host, optional port and path; nothing after the path.
MIN_CARD_ID_KEY = 32
# Dev mode's card uuid key when none is set. It is published here, so anyone can make card uuids
# this service accepts: dev mode never holds real data.
DEV_CARD_ID_KEY = "nerve-cds-dev-mode-card-id-key-published-not-secret"


class SettingsError(ConfigError):
    """A setting that cannot be used; the message names the variable or field."""


def _shipped(name: str) -> Path:
    """A data folder shipped in the wheel, or the repository's own in a source checkout."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def _default_cards_dir() -> Path:
    return _shipped("cards")


def _default_fixtures_dir() -> Path:
    return _shipped("fixtures")


class Settings(BaseModel):
    """What an operator can change without a code change."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    # Dev mode: client authentication may be switched off and plain-http loopback FHIR servers
    # are allowed. Never in production.
    dev: bool = False
    # Only honoured in dev mode: when False, callers are not authenticated.
    auth_enabled: bool = True
    cards_dir: Path = Field(default_factory=_default_cards_dir)
    fixtures_dir: Path = Field(default_factory=_default_fixtures_dir)
    # A site's own layer over the card library: settings.yaml (threshold values) and texts.yaml
    # (card wording per rule), checked like the library (library/site.py); unset: none.
    site_dir: Path | None = None
    database_url: str = "sqlite:///nerve-cds-feedback.db"
    # The URL clients call us at (scheme://host[:port][/prefix]); JWT `aud` is checked against it
    # and never against the request's Host or X-Forwarded-* headers. Required whenever clients are
    # authenticated (serving_problems).
    public_base_url: str = ""
    # The secret card uuids are signed with, so that feedback is taken only for a card this service
    # issued, on that service, to that client. Replicas must share it. Required outside dev mode.
    card_id_key: SecretStr | None = None
    # Canonical base for the code systems of card topics and override reasons (an https URL the
    # organisation controls); empty: the stable urn:nerve-cds: namespace.
    canonical_base: str = Field(default="", pattern=r"^(https?://\S+[^/])?$")
    trust_file: Path | None = None
    # Longest JWT lifetime (exp - iat) accepted; CDS Hooks suggests 5 minutes.
    jwt_max_lifetime_seconds: PositiveFloat = 300.0
    # How long to wait for a client's JWK Set (connect and each read), in seconds.
    jwks_timeout: PositiveFloat = 5.0
    # FHIR servers we may contact: "scheme://host[:port][/path-prefix]" entries.
    fhir_allowlist: tuple[str, ...] = ()
    # Plain http to allowlisted FHIR servers (a private network such as the compose stack only).
    fhir_allow_http: bool = False
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: PositiveInt = 16_000_000  # an unfiltered 20,000-Observation prefetch is ~13 MB (bench/large_record.py)
    # Feedback items in one request: more is a 413 before anything is stored (a worker stores a
    # request's items in one go, and must be back for hook calls well within its timeout).
    feedback_max_items: PositiveInt = 100
    fhir_connect_timeout: PositiveFloat = 3.0
    fhir_read_timeout: PositiveFloat = 8.0
    fhir_max_pages: PositiveInt = 50  # per key; past it the key is read in part (data/prefetch.py)
    fhir_max_response_bytes: PositiveInt = 20_000_000
    # All FHIR response bytes of one hook call (every batch, read and page): a server sending
    # page after page just under the response cap costs at most this much reading and parsing.
    fhir_max_bytes_per_call: PositiveInt = 40_000_000
    # One budget for all FHIR work of a hook call (every batch, read and page), in seconds.
    fhir_deadline: PositiveFloat = 5.0
    # The whole hook call, from its arrival to its answer (authentication, FHIR, engine), in
    # seconds: the FHIR work gets what is left of it, and past it the answer is a 503.
    call_deadline: PositiveFloat = 5.0
    # Prometheus metrics at /metrics, for callers sending this as a Bearer token; unset: off (404).
    metrics_token: SecretStr | None = None
    # Opt-in: return the PAMA appropriateness rating as a systemActions update.
    pama_system_actions: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # The informatics workbench (/workbench) shows patient data: off unless enabled, and outside
    # dev mode it needs its own credential (never a CDS client's JWT), sent as HTTP Basic
    # (any user name, this as the password) or as a Bearer token.
    workbench_enabled: bool = False
    workbench_token: SecretStr | None = None
    # The only folders (with the folders under them) the workbench's library preview may read a
    # candidate card library or request files from; the analyst types the path into a form.
    workbench_libraries: tuple[Path, ...] = ()
    # Shadow mode: a candidate card library evaluated beside the live one on every hook call, after
    # the live answer is built; only its differences are stored, never its cards returned.
    shadow_cards_dir: Path | None = None
    # Days the shadow differences (which name patients and encounters) are kept.
    shadow_retention_days: PositiveInt = 30

    @field_validator("cards_dir", "shadow_cards_dir")
    @classmethod
    def _a_card_library(cls, cards_dir: Path | None) -> Path | None:
        """Said here, naming the folder, rather than as the first card file that cannot be read."""
        problem = cards_dir is not None and not_a_card_library(cards_dir)
        if problem:
            raise PydanticCustomError("card_library", "{problem}", {"problem": problem})
        return cards_dir

    @field_validator("site_dir")
    @classmethod
    def _a_folder(cls, site_dir: Path | None) -> Path | None:
        if site_dir is not None and not Path(site_dir).is_dir():
            raise PydanticCustomError("site_dir", "{path} is not a folder", {"path": str(site_dir)})
        return site_dir

    @field_validator("card_id_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_CARD_ID_KEY:
            raise PydanticCustomError(
                "card_id_key", "must be at least {n} characters (e.g. openssl rand -hex 32)", {"n": MIN_CARD_ID_KEY})
        return key

    @field_validator("workbench_libraries")
    @classmethod
    def _existing_folders(cls, folders: tuple[Path, ...]) -> tuple[Path, ...]:
        """A typo would refuse every preview with no hint why: said at start-up instead."""
        for folder in folders:
            if not folder.is_absolute() or not folder.is_dir():
                raise PydanticCustomError("folder", "'{folder}' is not an absolute path to a folder", {"folder": str(folder)})
        return folders

    @field_validator("cors_origins")
    @classmethod
    def _browser_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        """An origin that can never match a browser's Origin header would fail silently."""
        for origin in origins:
            match = _ORIGIN.fullmatch(origin)
            if not match or int(match["port"] or 0) > 65535:
                raise PydanticCustomError(
                    "origin", "'{origin}' is not an origin like https://ehr.example.org[:port] (no path, no '*')",
                    {"origin": origin})
        return origins

    @field_validator("fhir_allowlist")
    @classmethod
    def _fhir_base_urls(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        """Read by the same parser as every fhirServer, so an entry means what it says (or nothing
        starts). The entry is named by its position: a URL may carry a password."""
        for number, entry in enumerate(entries, start=1):
            problem = _base_url_problem(entry)
            if problem:
                raise PydanticCustomError(
                    "fhir_base_url", "entry {number} is not a FHIR base URL like https://host[:port][/path] ({problem})",
                    {"number": number, "problem": problem})
        return entries

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, url: str) -> str:
        """Compared with each token's `aud` as base + path, so it is read by the same strict parser as
        every outbound URL (no query, no fragment); a trailing `/` is dropped."""
        problem = url and _base_url_problem(url)
        if problem:
            raise PydanticCustomError("base_url", "not a base URL like https://cds.example.org[/prefix] ({problem})",
                                      {"problem": problem})
        return url.rstrip("/")

    @property
    def authenticate(self) -> bool:
        """Authentication can only be off in dev mode."""
        return self.auth_enabled or not self.dev

    @property
    def card_key(self) -> bytes:
        """The key card uuids are signed with: the configured one, or in dev mode the published
        DEV_CARD_ID_KEY (serving_problems refuses to serve without one outside dev mode)."""
        return (self.card_id_key.get_secret_value() if self.card_id_key else DEV_CARD_ID_KEY).encode()

    def serving_problems(self) -> str | None:
        """Why these settings cannot serve CDS clients, naming the variables, or None. Checked when
        the app is made rather than for every Settings, since the command line's other commands
        (reports, validation) need neither."""
        problems = []
        if self.authenticate and not self.public_base_url:
            problems.append(f"{_variable('public_base_url')}: required when clients are authenticated: the URL "
                            "they call, e.g. https://cds.example.org (JWT aud is checked against it, never "
                            "against the request's Host)")
        if not self.dev and self.card_id_key is None:
            problems.append(f"{_variable('card_id_key')}: required outside dev mode: a secret of at least "
                            f"{MIN_CARD_ID_KEY} characters shared by every replica (e.g. openssl rand -hex 32)")
        return "; ".join(problems) or None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then ``NERVE_CDS_*`` variables, then explicit overrides; SettingsError names
        the first unknown variable or every invalid value."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for key, raw in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX):].lower()
            if name not in cls.model_fields:
                known = ", ".join(sorted(_variable(field) for field in cls.model_fields))
                raise SettingsError(f"{key}: not a nerve-cds setting (known: {known})")
            values[name] = _from_text(cls.model_fields[name].annotation, raw)
        shadowed = {name: value for name, value in values.items() if name in overrides}
        if shadowed:  # a command-line flag wins over a variable, but a wrong variable is still wrong
            cls._validated(shadowed)
        return cls._validated({**values, **overrides})

    @classmethod
    def _validated(cls, values: dict[str, Any]) -> "Settings":
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(describe(exc, name=_variable)) from None


def not_a_card_library(path: Path) -> str | None:
    """Why `path` is not a card library folder (one holds services.yaml), or None."""
    return None if (Path(path) / "services.yaml").is_file() else f"{path} is not a card library folder (no services.yaml)"


def _base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL (scheme://host[:port][/path], no query), or None."""
    try:
        parse_base_url(url)
    except UrlError as exc:
        return str(exc)
    return None


def _variable(field: str) -> str:
    """The environment variable an operator sets for `field`."""
    return ENV_PREFIX + field.upper()


def _from_text(annotation: Any, raw: str) -> Any:
    """An environment string in the shape the field wants; pydantic then checks the value itself
    (so NERVE_CDS_DEV=ture is refused, not read as false)."""
    kind = str(annotation)
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if ("Path" in kind or "SecretStr" in kind) and not raw.strip():
        return None
    return raw.strip()
