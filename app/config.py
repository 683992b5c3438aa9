"""Settings (pydantic-settings), read from the environment and `.env`.

`APP_ENV` selects the mode: `development` (default; secrets are generated and kept under
`var/`), `testing`, or `production` (secrets must be configured, else the app refuses to start).
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Environment(StrEnum):
    development = "development"
    testing = "testing"
    production = "production"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used (e.g. production without keys)."""


class AuthSettings(BaseModel):
    access_token_minutes: int = 8 * 60
    audience: str = "hazchain-api"
    issuer: str = "hazchain"


class LedgerSettings(BaseModel):
    # A signed checkpoint of each site's chain head is written every N events, and by the
    # server's schedule when a site's chain moved since a checkpoint N hours old (0: off), so
    # a quiet site's latest events are not covered by the hash chain alone for months.
    checkpoint_every: int = 1000
    checkpoint_hours: int = Field(default=24, ge=0)


class MobileSettings(BaseModel):
    # Handhelds (`/mobile/v1`): token lifetimes, sync batch limit, when a synced step is late.
    device_token_days: int = 365
    session_token_minutes: int = 12 * 60
    max_batch: int = 500
    late_after_minutes: int = 60
    # Scans run on a pool of this many threads of their own, not the 40 every sync route shares:
    # a burst of scans neither starves the console nor makes its threads fight over the GIL
    # (docs/benchmarks.md: 4 threads cost a scan 10 % less CPU than 40 under 32 connections,
    # 1 thread 25 % less on a local database; more help when the database is far away).
    scan_threads: int = Field(default=4, ge=1, le=64)


class LimitSettings(BaseModel):
    # Request bodies (413 above these), and login throttling (429 with Retry-After).
    body_max_bytes: int = 2 * 1024 * 1024
    upload_max_bytes: int = 25 * 1024 * 1024
    upload_prefixes: tuple[str, ...] = ("/api/v1/scorecard", "/scorecard", "/web")
    login_failures_per_username: int = 10
    login_failures_per_client: int = 50
    login_window_seconds: int = 15 * 60


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_nested_delimiter="__")

    app_env: Environment = Environment.development
    database_url: str = ""
    # PostgreSQL connections kept open per app process, and as many threads serve requests:
    # a request then waits for a thread, never for a connection, and none is opened and
    # closed per request under load (each is a server process on PostgreSQL).
    db_pool_size: int = Field(default=32, ge=1, le=500)
    # A pooled PostgreSQL connection unused for this many seconds is pinged before reuse (a
    # firewall may have dropped it); one in steady use is not (0: ping on every checkout).
    db_ping_after_idle_s: float = Field(default=10.0, ge=0, le=3600)
    var_dir: Path = PROJECT_ROOT / "var"
    # HS256 secret for access tokens.
    jwt_secret: str | None = Field(default=None, repr=False)
    # 32-byte hex seed from which each site's Ed25519 checkpoint-signing key is derived (and the
    # MAC of the roadside-check link printed on manifests: a new seed voids printed links).
    site_signing_seed: str | None = Field(default=None, repr=False)
    # The address phones outside the plant reach the server on (`https://hazchain.example.cn`),
    # for links printed on paper: the manifest's roadside-check QR code. Unset, a PDF carries
    # the address its request came in on.
    public_url: str = Field(
        default="", max_length=200, pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$"
    )
    sql_echo: bool = False
    # The storage sweep (alerts) runs inside the server every N minutes; 0 turns it off.
    sweep_interval_minutes: int | None = None
    # With the sweep, the server verifies every chain when no run was recorded for N hours
    # (`hazchain verify` and the console's button record runs too); 0 turns it off.
    verify_interval_hours: int = Field(default=24, ge=0)
    # "Verify now" (API, console) is refused with 429 while a verification runs, and for N
    # seconds after the last one ended: each recomputes every chain, seconds of CPU per million
    # events, and the answer cannot change faster than the log does.
    verify_cooldown_seconds: int = Field(default=60, ge=0)
    page_size_max: int = 500
    auth: AuthSettings = AuthSettings()
    ledger: LedgerSettings = LedgerSettings()
    mobile: MobileSettings = MobileSettings()
    limits: LimitSettings = LimitSettings()

    @property
    def effective_sweep_minutes(self) -> int:
        if self.sweep_interval_minutes is not None:
            return self.sweep_interval_minutes
        return 0 if self.app_env is Environment.testing else 60

    @property
    def is_production(self) -> bool:
        return self.app_env is Environment.production

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.var_dir.mkdir(parents=True, exist_ok=True)  # a fresh checkout has no var/ yet
        return f"sqlite:///{self.var_dir / 'hazchain.db'}"

    @cached_property
    def effective_jwt_secret(self) -> str:
        return self._secret("jwt_secret", self.jwt_secret, lambda: secrets.token_urlsafe(48))

    @cached_property
    def effective_signing_seed(self) -> bytes:
        value = self._secret(
            "site_signing_seed", self.site_signing_seed, lambda: secrets.token_hex(32)
        )
        try:
            seed = bytes.fromhex(value)
        except ValueError as exc:
            raise ConfigurationError("SITE_SIGNING_SEED must be hex") from exc
        if len(seed) < 32:
            raise ConfigurationError(
                "SITE_SIGNING_SEED must hold at least 32 bytes (64 hex digits)"
            )
        return seed

    def _secret(self, name: str, configured: str | None, generate: object) -> str:
        if configured:
            return configured
        if self.is_production:
            raise ConfigurationError(
                f"{name.upper()} is not configured: production mode refuses to start without it"
            )
        path = self.var_dir / "secrets" / name
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = generate()  # type: ignore[operator]
        path.write_text(value)
        path.chmod(0o600)
        return str(value)

    def check_startup(self) -> None:
        """Fail fast on a configuration that must not serve requests."""
        if self.is_production:
            if not self.database_url:
                raise ConfigurationError("DATABASE_URL must be set in production")
            _ = self.effective_jwt_secret
            _ = self.effective_signing_seed


def get_settings() -> Settings:
    return Settings()
