"""Settings: development generates and keeps secrets under var/; production refuses to start
without configured keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigurationError, Environment, Settings


def test_development_generates_secrets_once_under_var(tmp_path: Path) -> None:
    s = Settings(app_env=Environment.development, var_dir=tmp_path)
    secret, seed = s.effective_jwt_secret, s.effective_signing_seed
    assert len(secret) > 40 and len(seed) == 32
    assert (tmp_path / "secrets" / "jwt_secret").stat().st_mode & 0o777 == 0o600
    again = Settings(app_env=Environment.development, var_dir=tmp_path)
    assert (again.effective_jwt_secret, again.effective_signing_seed) == (secret, seed)
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'hazchain.db'}"


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    s = Settings(
        app_env=Environment.production,
        var_dir=tmp_path,
        database_url="postgresql+psycopg://x@localhost/x",
    )
    with pytest.raises(ConfigurationError, match="JWT_SECRET is not configured"):
        s.check_startup()
    assert not (tmp_path / "secrets").exists()
    s = Settings(
        app_env=Environment.production,
        var_dir=tmp_path,
        jwt_secret="x" * 48,
        database_url="postgresql+psycopg://x@localhost/x",
    )
    with pytest.raises(ConfigurationError, match="SITE_SIGNING_SEED"):
        s.check_startup()
    s = Settings(
        app_env=Environment.production,
        var_dir=tmp_path,
        jwt_secret="x" * 48,
        site_signing_seed="ab" * 32,
    )
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        s.check_startup()


def test_production_app_does_not_start_without_keys(tmp_path: Path) -> None:
    from app.main import create_app

    with pytest.raises(ConfigurationError):
        create_app(
            Settings(
                app_env=Environment.production,
                var_dir=tmp_path,
                database_url=f"sqlite:///{tmp_path / 'x.db'}",
            )
        )


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "s" * 48)
    s = Settings(var_dir=tmp_path)
    assert s.effective_database_url == "postgresql+psycopg://u@h/db" and s.is_production
    assert s.effective_jwt_secret == "s" * 48


def test_the_default_database_directory_is_created(tmp_path: Path) -> None:
    var = tmp_path / "fresh" / "var"
    url = Settings(app_env=Environment.development, var_dir=var).effective_database_url
    assert var.is_dir() and url == f"sqlite:///{var / 'hazchain.db'}"


def test_db_pool_size_sets_the_pool_and_the_request_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from app.core.db import Database
    from app.main import create_app
    from app.migrate import upgrade

    monkeypatch.setenv("DB_POOL_SIZE", "7")
    s = Settings(app_env=Environment.testing, var_dir=tmp_path, jwt_secret="x" * 48)
    assert s.db_pool_size == 7
    pg = Database("postgresql+psycopg://x@localhost/x", pool_size=s.db_pool_size)
    assert pg.engine.pool.size() == 7  # type: ignore[attr-defined]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)  # the app starts only on a database at its code's migration
    app = create_app(s.model_copy(update={"database_url": url}))
    with TestClient(app) as client:
        limit = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter())
        assert limit.total_tokens == 7
