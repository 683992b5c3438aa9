"""The `hazchain` CLI against a real database: migrate, seed-demo, verify, rebuild."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

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
