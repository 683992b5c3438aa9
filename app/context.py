"""What a running hazchain holds: settings, database, keys, clock and reference data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from app.config import Settings
from app.core.clock import Clock, SystemClock
from app.core.db import Database
from app.core.keys import KeyRing
from app.core.throttle import LoginThrottle
from app.domain.waste_codes import Catalogue

CATALOGUE_CSV = Path(__file__).resolve().parent / "catalogue" / "data" / "waste-codes.csv"


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock

    @cached_property
    def keys(self) -> KeyRing:
        return KeyRing(self.settings.effective_signing_seed)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        lim = self.settings.limits
        return LoginThrottle(
            per_username=lim.login_failures_per_username,
            per_client=lim.login_failures_per_client,
            window_seconds=lim.login_window_seconds,
        )

    @cached_property
    def catalogue(self) -> Catalogue:
        return load_catalogue()

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> AppContext:
        settings.check_startup()
        db = Database(
            settings.effective_database_url,
            echo=settings.sql_echo,
            pool_size=settings.db_pool_size,
            ping_after_idle_s=settings.db_ping_after_idle_s,
        )
        return cls(settings=settings, db=db, clock=clock or SystemClock())


_CATALOGUE: Catalogue | None = None


def load_catalogue() -> Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = Catalogue.from_csv(CATALOGUE_CSV)
    return _CATALOGUE
