"""The `hazchain` CLI against a real database: migrate, seed-demo, verify, rebuild; a
production install bootstrapped from an empty database (create-enterprise, create-user)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.domain.lot import LotStatus
from app.domain.manifest import ManifestStatus

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        {
            "APP_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "VAR_DIR": str(tmp_path),
            "COLUMNS": "200",
        }
    )
    return e


def test_migrate_seed_verify_rebuild(env: dict[str, str]) -> None:
    assert run(["migrate"], env).returncode == 0
    seeded = run(["seed-demo"], env)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "seeded demo plant" in seeded.stdout and "hazchain-demo" in seeded.stdout
    again = run(["seed-demo", "--if-empty"], env)
    assert again.returncode == 0 and "skipped" in again.stdout
    refused = run(["seed-demo"], env)
    assert refused.returncode == 1 and "already has users" in refused.stdout
    # a newcomer sees lots and manifests in every state
    url = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(url) as db:
        lots = {r[0] for r in db.execute("SELECT DISTINCT status FROM rm_lot")}
        manifests = {r[0] for r in db.execute("SELECT DISTINCT status FROM rm_manifest")}
        tracked, paper = db.execute(
            "SELECT sum(json_extract(state, '$.track') IS NOT NULL), "
            "sum(json_extract(state, '$.paper') IS NOT NULL) FROM rm_manifest"
        ).fetchone()
    assert lots == {s.value for s in LotStatus}, lots
    assert manifests == {s.value for s in ManifestStatus}, manifests
    assert tracked >= 10 and paper == 1, (tracked, paper)  # GPS tracks (R49), a paper back-entry
    with sqlite3.connect(url) as db:  # a lot kept past a year under an approved extension
        extended = db.execute(
            "SELECT storage_extension_approval_no FROM rm_lot WHERE storage_extended_until "
            "IS NOT NULL"
        ).fetchall()
    assert extended == [("苏环危延〔2026〕18号",)], extended
    verified = run(["verify"], env)
    assert verified.returncode == 0 and verified.stdout.strip().startswith("ok:"), verified.stdout
    with sqlite3.connect(url) as db:  # the run is recorded
        assert db.execute("SELECT trigger, ok FROM verification_run").fetchall() == [("cli", 1)]
    # on a read-only database (a replica, say) the answer stands; only the record is missing
    ro = {**env, "DATABASE_URL": f"sqlite:///file:{url}?mode=ro&uri=true"}
    read_only = run(["verify"], ro)
    assert read_only.returncode == 0, read_only.stdout + read_only.stderr
    assert (
        read_only.stdout.strip().startswith("ok:")
        and "the run was not recorded" in read_only.stdout
    )
    one_pass = run(["verify", "--workers", "1"], env)
    assert one_pass.returncode == 0 and one_pass.stdout.strip().startswith("ok:"), one_pass.stdout
    assert run(["verify", "--workers", "0"], env).returncode == 2  # at least one process
    rebuilt = run(["rebuild-projections"], env)
    assert rebuilt.returncode == 0 and "rebuilt projections from" in rebuilt.stdout
    assert run(["verify"], env).returncode == 0


def test_the_server_refuses_a_database_at_another_migration(
    env: dict[str, str], tmp_path: Path
) -> None:
    """New code on a database that was not migrated would fail page by page on the first new
    column; the server refuses to start instead, in one line that says what to run."""
    from app.migrate import code_head, downgrade, upgrade
    from tests.support.world import make_settings

    never = run(["serve", "--port", "0"], env)  # a database never migrated
    assert never.returncode == 2, never.stdout + never.stderr
    assert "is at migration none (empty) but this code needs" in never.stdout
    assert "hazchain migrate" in never.stdout and "Traceback" not in never.stderr

    url = env["DATABASE_URL"]
    upgrade(url)
    downgrade(url, "b7e1d9f4c382")  # one migration behind
    behind = run(["serve", "--port", "0"], env)
    assert behind.returncode == 2
    assert f"is at migration b7e1d9f4c382 but this code needs {code_head()}" in behind.stdout
    # any other way of starting the app (uvicorn --factory, several workers) stops at startup
    from app.config import ConfigurationError
    from app.main import create_app

    app = create_app(make_settings(url, tmp_path))
    with pytest.raises(ConfigurationError, match="hazchain migrate"), TestClient(app):
        pass
    upgrade(url)
    with TestClient(create_app(make_settings(url, tmp_path))) as client:
        assert client.get("/healthz").json()["status"] == "ok"


def test_demo_seeding_is_refused_in_production(env: dict[str, str]) -> None:
    env.update({"APP_ENV": "production", "JWT_SECRET": "j" * 48, "SITE_SIGNING_SEED": "ab" * 32})
    assert run(["migrate"], env).returncode == 0
    out = run(["seed-demo"], env)
    assert out.returncode == 1 and "refused outside development" in out.stdout


def test_production_without_keys_is_a_one_line_configuration_error(env: dict[str, str]) -> None:
    env.update({"APP_ENV": "production"})
    out = run(["verify"], env)
    assert out.returncode == 2 and "configuration error" in out.stdout


def test_verify_on_read_only_postgresql_answers_and_says_it_did_not_record(
    pg_db: tuple[str, object], env: dict[str, str]
) -> None:
    """A replica, or a role with read-only transactions: the chains are checked, the run is not
    recorded (SQLSTATE 25006), and the exit status is the verification's."""
    from tests.support.world import JWT_SECRET, SIGNING_SEED

    url, _ = pg_db
    sep = "&" if "?" in url else "?"
    env.update(
        {
            "APP_ENV": "testing",
            "JWT_SECRET": JWT_SECRET,
            "SITE_SIGNING_SEED": SIGNING_SEED,
            "DATABASE_URL": f"{url}{sep}options=-c%20default_transaction_read_only%3Don",
        }
    )
    out = run(["verify"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().startswith("ok:") and "the run was not recorded" in out.stdout
    assert "read-only transaction" in out.stdout


# ---------------------------------------------------------------- a production install from nothing

PLANT_USCC = "91320594MA1N2B3C4R"  # GB 32100 check character included
ADMIN_PASSWORD = "first admin passphrase"
runner = CliRunner()


@pytest.fixture
def empty_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, no schema at all, on the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server = os.environ["HAZCHAIN_TEST_POSTGRES_URL"]
    name = f"hazchain_cli_{uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def production(url: str, tmp_path: Path) -> dict[str, str]:
    from tests.support.world import JWT_SECRET, SIGNING_SEED

    return {
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "JWT_SECRET": JWT_SECRET,
        "SITE_SIGNING_SEED": SIGNING_SEED,
        "VAR_DIR": str(tmp_path),
        "COLUMNS": "200",
    }


def invoke(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(cli, args, env=env)


def ok(args: list[str], env: dict[str, str]) -> str:
    out = invoke(args, env)
    assert out.exit_code == 0, out.output
    return out.stdout


def refused(args: list[str], env: dict[str, str], code: int) -> str:
    """The one line an expected failure prints on stderr (no traceback, nothing on stdout)."""
    out = invoke(args, env)
    assert out.exit_code == code, out.output
    assert isinstance(out.exception, SystemExit), out.exception  # an exit, not a crash
    assert out.stdout == "" and "Traceback" not in out.output, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def counts(url: str) -> dict[str, int]:
    tables = ("enterprise", "site", "chain_head", "app_user", "user_site", "stored_event")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return {t: c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in tables}
    finally:
        engine.dispose()


CREATE_PLANT = [
    "create-enterprise",
    "--uscc",
    PLANT_USCC,
    "--name",
    "测试化工有限公司",
    "--division-code",
    "320571",
    "--site-code",
    "SZ01",
    "--site-name",
    "苏州厂区",
]
CREATE_ADMIN = [
    "create-user",
    "admin",
    "--role",
    "admin",
    "--enterprise-uscc",
    PLANT_USCC,
    "--password",
    ADMIN_PASSWORD,
    "--all-sites",
]


def test_a_production_install_bootstraps_from_an_empty_database(
    empty_db: str, tmp_path: Path
) -> None:
    """migrate, create-enterprise (with its first site), the first admin, a site operator: the
    admin signs in through the API and carries on from there."""
    from app.config import Environment, Settings
    from app.main import create_app
    from tests.support.world import JWT_SECRET, SIGNING_SEED

    env = production(empty_db, tmp_path)
    assert "is at head" in ok(["migrate"], env)
    made = ok(CREATE_PLANT, env)
    assert f"created enterprise 测试化工有限公司 (USCC {PLANT_USCC}, plant)" in made
    assert "created site SZ01 苏州厂区" in made
    assert "created user admin (admin; every site)" in ok(CREATE_ADMIN, env)
    operator = ["create-user", "op.wang", "--role", "operator", "--enterprise-uscc", PLANT_USCC]
    made = ok([*operator, "--password", "operator passphrase", "--site", "SZ01"], env)
    assert "created user op.wang (operator; SZ01)" in made
    # what was written: the enterprise, its site with an open (empty) event chain, two users,
    # the operator scoped to SZ01; administration is not part of the custody log
    assert counts(empty_db) == {
        "enterprise": 1,
        "site": 1,
        "chain_head": 1,
        "app_user": 2,
        "user_site": 1,
        "stored_event": 0,
    }
    verified = ok(["verify", "--workers", "1"], env)
    assert verified.strip().startswith("ok:"), verified

    settings = Settings(
        app_env=Environment.production,
        database_url=empty_db,
        var_dir=tmp_path,
        jwt_secret=JWT_SECRET,
        site_signing_seed=SIGNING_SEED,
    )
    app = create_app(settings)
    client = TestClient(app)
    try:

        def login(username: str, password: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin = login("admin", ADMIN_PASSWORD)
        me = client.get("/api/v1/users/me", headers=admin).json()
        assert me["role"] == "admin" and me["all_sites"] is True
        sites = client.get("/api/v1/sites", headers=admin).json()
        assert [s["code"] for s in sites] == ["SZ01"]
        op = client.get("/api/v1/users/me", headers=login("op.wang", "operator passphrase"))
        assert op.json()["site_ids"] == [sites[0]["id"]]
        # the admin carries on in the API and the console: a second site, say
        second = client.post(
            "/api/v1/sites",
            json={
                "enterprise_id": me["enterprise_id"],
                "code": "SZ02",
                "name": "二厂区",
                "division_code": "320571",
            },
            headers=admin,
        )
        assert second.status_code == 201, second.text
        wrong = client.post("/api/v1/auth/token", data={"username": "admin", "password": "x" * 12})
        assert wrong.status_code == 401
    finally:
        app.state.ctx.db.dispose()
        client.close()


def test_expected_failures_are_one_line_and_write_nothing(empty_db: str, tmp_path: Path) -> None:
    env = production(empty_db, tmp_path)
    line = refused(CREATE_PLANT, env, 1)
    assert "has no schema yet: run `hazchain migrate` first" in line
    ok(["migrate"], env)
    ok(CREATE_PLANT, env)
    ok(CREATE_ADMIN, env)
    before = counts(empty_db)
    user = ["create-user", "op.li", "--enterprise-uscc", PLANT_USCC]
    good = ["--role", "operator", "--password", "operator passphrase"]

    line = refused([*user, "--role", "wizard", "--password", "operator passphrase"], env, 2)
    assert line == (
        "error: unknown role 'wizard': choose one of "
        "admin, ehs_manager, operator, handler, transporter, auditor"
    )
    line = refused([*user, "--role", "operator", "--password", "short pw"], env, 2)
    assert line == "error: --password: String should have at least 10 characters"
    assert "short pw" not in line
    line = refused([*user, *good, "--site", "SZ01", "--site", "SZ09"], env, 2)
    assert line == "error: no site SZ09 in 测试化工有限公司 (its sites: SZ01)"
    line = refused([*user, *good, "--site", "SZ01", "--all-sites"], env, 2)
    assert "--site and --all-sites exclude each other" in line
    other = ["create-user", "op.li", "--enterprise-uscc", "91320506MA1P5Q6R7X", *good]
    assert "no enterprise with USCC 91320506MA1P5Q6R7X" in refused(other, env, 2)
    line = refused(["create-user", "admin", "--enterprise-uscc", PLANT_USCC, *good], env, 1)
    assert line == "error: username admin is taken"
    line = refused(CREATE_PLANT, env, 1)
    assert line == f"error: an enterprise with USCC {PLANT_USCC} already exists"
    bad_check = [*CREATE_PLANT[:2], PLANT_USCC[:17] + "1", *CREATE_PLANT[3:]]
    assert "check character should be 'R'" in refused(bad_check, env, 2)
    no_name = CREATE_PLANT[:-2]  # --site-code without --site-name
    assert "--site-code needs --site-name" in refused(no_name, env, 2)
    assert counts(empty_db) == before
