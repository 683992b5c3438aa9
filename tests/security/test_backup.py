"""Backup and restore: `export-db` / `import-db` round-trip a database with lots, a manifest,
devices and signed checkpoints into an empty migrated one (same backend, and SQLite to
PostgreSQL), and the chains verify afterwards; a non-empty target is refused."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.backup import RestoreError, export_db, import_db
from app.core.db import make_engine
from app.eventstore.verify import verify_chains
from app.migrate import upgrade
from app.scorecard.service import evidence_dir
from tests.conftest import _PG_PROBLEM, _pg_admin_engine, _pg_url_for
from tests.support.client import Api
from tests.support.world import JWT_SECRET, SIGNING_SEED


def _activity(api: Api) -> None:
    from tests.manifests.support import draft, setup_parties, stored_lot

    setup_parties(api)
    draft(api, [stored_lot(api), stored_lot(api, zone="A2")])
    op = api.as_("operator")
    op.step(op.step(op.generate(), "label"), "weigh", weight_kg="9.5")
    assert api.as_("admin").post("/api/v1/audit/checkpoints", {}).status_code == 201
    r = api.as_("ehs_manager").client.post(  # evidence: a row here, its file on disk
        "/api/v1/scorecard/evidence",
        data={
            "event_id": str(uuid4()),
            "site_id": str(api.world.site_a),
            "year": "2026",
            "criterion": "s_compliance",
        },
        files={"file": ("营业执照.pdf", EVIDENCE, "application/pdf")},
        headers={"Authorization": f"Bearer {api.token('ehs_manager')}"},
    )
    assert r.status_code == 201, r.text


EVIDENCE = b"%PDF-1.4 licence scan"


@pytest.fixture
def empty_target(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from _empty(backend, tmp_path)


def _empty(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.db'}"
        upgrade(url)
        yield url
        return
    name = f"hazchain_restore_{uuid4().hex[:10]}"
    eng = _pg_admin_engine()
    with eng.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = _pg_url_for(name)
    upgrade(url)
    try:
        yield url
    finally:
        with eng.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        eng.dispose()


def _counts(url: str) -> dict[str, int]:
    from app.backup import _tables

    eng = sa.create_engine(url)
    with eng.connect() as c:
        out = {
            t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in _tables()
        }
    eng.dispose()
    return out


def _export(api: Api, dump: io.StringIO) -> dict[str, int]:
    with api.ctx.db.session(write=False) as session:  # as `hazchain export-db` reads
        return export_db(session.connection(), dump, files=evidence_dir(api.ctx))


def _import(
    target: str, dump: io.StringIO, exported: dict[str, int], files: Path | None = None
) -> None:
    """Restore `dump` into `target`: every exported row, no more."""
    dump.seek(0)
    eng = sa.create_engine(target)
    with eng.begin() as conn:
        imported = import_db(conn, dump, files=files)
    eng.dispose()
    assert imported == {k: v for k, v in exported.items() if v}
    assert _counts(target) == exported


def _round_trip(api: Api, target: str, tmp_path: Path) -> None:
    dump = io.StringIO()
    exported = _export(api, dump)
    assert exported["stored_event"] > 10
    _import(target, dump, exported, files=tmp_path / "restored" / "evidence")
    restored = Api.start(target, api.world, tmp_path / "restored")
    try:
        # the evidence comes back with its rows: the download works on the restored site
        (evidence,) = (
            restored.as_("ehs_manager")
            .get(
                "/api/v1/scorecard/inputs", params={"year": 2026, "site_id": str(api.world.site_a)}
            )
            .json()["evidence"]
        )
        got = restored.as_("ehs_manager").get(evidence["download_url"])
        assert got.status_code == 200 and got.content == EVIDENCE
        with restored.ctx.db.engine.connect() as conn:
            report = verify_chains(conn, restored.ctx.keys.public_key)
        assert report.ok and report.events == exported["stored_event"], report.summary()
        assert report.checkpoints >= 1
        for path in ("/api/v1/lots", "/api/v1/manifests"):
            assert restored.get(path).json() == api.get(path).json()
        # the restored database keeps working: new events chain on
        op = restored.as_("operator")
        op.step(op.generate(), "label")
        with restored.ctx.db.engine.connect() as conn:
            assert verify_chains(conn, restored.ctx.keys.public_key).ok
        # and it is no longer empty: a second import is refused
        dump.seek(0)
        with restored.ctx.db.engine.begin() as conn, pytest.raises(RestoreError, match="empty"):
            import_db(conn, dump)
    finally:
        restored.close()


def test_export_import_round_trip(api: Api, empty_target: str, tmp_path: Path) -> None:
    _activity(api)
    _round_trip(api, empty_target, tmp_path)


def test_a_dump_taken_while_the_plant_works_restores_whole(
    api: Api, empty_target: str, tmp_path: Path
) -> None:
    """`export-db` counts the rows, then writes table after table. A lot generated meanwhile
    (after the counts, before the events are written) is not in the dump, which holds the
    database as of one moment: it restores, and its chains verify."""
    _activity(api)
    op = api.as_("operator")

    class Busy(io.StringIO):
        def write(self, text: str) -> int:
            if not self.tell():  # the header, written once the counts are taken
                op.generate()
            return super().write(text)

    dump = Busy()
    exported = _export(api, dump)
    assert _counts(api.url)["stored_event"] == exported["stored_event"] + 1
    _import(empty_target, dump, exported, files=tmp_path / "evidence")
    restored = make_engine(empty_target)
    with restored.connect() as conn:
        report = verify_chains(conn, api.ctx.keys.public_key)
    restored.dispose()
    assert report.ok and report.events == exported["stored_event"], report.summary()


def test_sqlite_to_postgresql_through_the_cli(sqlite_api: Api, tmp_path: Path) -> None:
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    from app.cli import cli

    api = sqlite_api
    _activity(api)
    file = tmp_path / "dump.jsonl"
    env = {
        "APP_ENV": "testing",
        "JWT_SECRET": JWT_SECRET,
        "SITE_SIGNING_SEED": SIGNING_SEED,
        "VAR_DIR": str(tmp_path),
    }
    runner = CliRunner()
    source = {**env, "DATABASE_URL": api.url, "VAR_DIR": str(api.ctx.settings.var_dir)}
    r = runner.invoke(cli, ["export-db", str(file)], env=source)
    assert r.exit_code == 0, r.output
    for target in _empty("postgresql", tmp_path):
        r = runner.invoke(cli, ["import-db", str(file)], env={**env, "DATABASE_URL": target})
        assert r.exit_code == 0, r.output
        assert "chains: ok" in r.output, r.output
        assert _counts(target) == _counts(api.url)
        restored = list((tmp_path / "evidence").rglob("*"))
        assert [p.read_bytes() for p in restored if p.is_file()] == [EVIDENCE]
        r = runner.invoke(cli, ["import-db", str(file)], env={**env, "DATABASE_URL": target})
        assert r.exit_code == 1 and "not empty" in r.output


def test_a_dumped_file_that_does_not_match_its_digest_is_refused(
    api: Api, empty_target: str, tmp_path: Path
) -> None:
    _activity(api)
    dump = io.StringIO()
    exported = _export(api, dump)
    lines = dump.getvalue().splitlines()
    assert json.loads(lines[0])["files"] == 1 and json.loads(lines[-1])["f"]
    forged = {**json.loads(lines[-1]), "b": base64.b64encode(b"%PDF-1.4 forged").decode()}
    bad = io.StringIO("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    with pytest.raises(RestoreError, match="does not match its SHA-256"):
        _import(empty_target, bad, exported, files=tmp_path / "evidence")
    assert _counts(empty_target)["stored_event"] == 0  # one transaction: nothing restored
    cut = io.StringIO("\n".join(lines[:-1]) + "\n")  # the file line lost
    with pytest.raises(RestoreError, match=r"expected .* and 1 files"):
        _import(empty_target, cut, exported, files=tmp_path / "evidence")
