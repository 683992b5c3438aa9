"""Logical backup and restore of the whole database: `hazchain export-db FILE` / `import-db FILE`.

The dump is JSON Lines: a header (format, Alembic revision, table row counts), then one line per
row, `{"t": table, "r": {column: value}}`, tables in foreign-key dependency order. Values are
JSON with UUIDs, datetimes (UTC, ISO 8601), dates, decimals (as strings, exact) and bytes
(base64) decoded back by column type, and the event payloads kept as JSON values: the restored
log re-serialises them canonically, byte for byte, so every hash still verifies.

Import goes into an empty database migrated to the same revision (`hazchain migrate` first), in
one transaction: it either restores everything or nothing. PostgreSQL sequences are moved past
the restored keys. It works across backends (SQLite to PostgreSQL and back).

Files the database points to but does not hold — the scorecard's evidence, kept on disk by
their SHA-256 — follow the rows (version 2): `{"f": sha256, "b": base64}`, checked against
their digest when restored. Version 1 dumps (no files) still restore.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app import tables  # noqa: F401 - every table registered
from app.core.db import CanonicalJSON, metadata
from app.projections.scorecard import ScorecardEvidenceRow

FORMAT = "hazchain-dump"
VERSION = 2
READS = (1, 2)
BATCH = 1000


class RestoreError(RuntimeError):
    """The dump cannot be restored here (not empty, other revision, unknown format)."""


def _tables() -> list[sa.Table]:
    return list(metadata.sorted_tables)


def _revision(conn: Connection) -> str | None:
    try:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.DBAPIError:
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _decoder(column: sa.Column[Any]) -> Any:
    t = column.type
    if isinstance(t, CanonicalJSON | sa.JSON):
        return lambda v: v
    impl = getattr(t, "impl", t)
    impl = impl if isinstance(impl, sa.types.TypeEngine) else t
    if isinstance(t, sa.Uuid) or isinstance(impl, sa.Uuid):
        return UUID
    if isinstance(impl, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(impl, sa.Date):
        return date.fromisoformat
    if isinstance(impl, sa.Numeric) and not isinstance(impl, sa.Float):
        return Decimal
    if isinstance(impl, sa.LargeBinary):
        return base64.b64decode
    return lambda v: v


def _file_path(files: Path, digest: str) -> Path:
    return files / digest[:2] / digest  # as the scorecard's evidence store lays them out


def _evidence_digests(conn: Connection, files: Path | None) -> list[str]:
    """The evidence files the rows point to and the store holds (a missing one is reported by
    the download as it is today; the dump cannot make it up)."""
    if files is None:
        return []
    sha256 = ScorecardEvidenceRow.__table__.c.sha256  # type: ignore[attr-defined]
    digests = conn.execute(sa.select(sha256).distinct().order_by(sha256))
    return [d for (d,) in digests if _file_path(files, d).is_file()]


def export_db(conn: Connection, out: IO[str], files: Path | None = None) -> dict[str, int]:
    """Write every table to `out`, then the evidence files under `files`; the row count per
    table."""
    counts = {
        t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in _tables()
    }
    digests = _evidence_digests(conn, files)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "revision": _revision(conn),
        "tables": counts,
        "files": len(digests),
    }
    out.write(json.dumps(header, ensure_ascii=False) + "\n")
    for table in _tables():
        order = list(table.primary_key.columns) or list(table.columns)
        result = conn.execution_options(yield_per=BATCH).execute(sa.select(table).order_by(*order))
        for row in result.mappings():
            line = {"t": table.name, "r": {k: _encode(v) for k, v in row.items()}}
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    for digest in digests:
        assert files is not None
        data = base64.b64encode(_file_path(files, digest).read_bytes()).decode()
        out.write(json.dumps({"f": digest, "b": data}, separators=(",", ":")) + "\n")
    return counts


def _restore_file(files: Path | None, line: dict[str, Any]) -> None:
    digest, data = str(line["f"]), base64.b64decode(line["b"])
    if hashlib.sha256(data).hexdigest() != digest:
        raise RestoreError(f"the dump's file {digest} does not match its SHA-256")
    if files is None:
        raise RestoreError("the dump holds evidence files: give a directory to restore them to")
    path = _file_path(files, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".restoring")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # content-addressed: a file already there is the same file


def _lines(src: IO[str]) -> Iterator[dict[str, Any]]:
    for raw in src:
        if raw.strip():
            yield json.loads(raw)


def import_db(conn: Connection, src: IO[str], files: Path | None = None) -> dict[str, int]:
    """Restore a dump into an empty database at the same revision, and its evidence files
    under `files`; the rows per table."""
    lines = _lines(src)
    header = next(lines, None)
    if not header or header.get("format") != FORMAT or header.get("version") not in READS:
        raise RestoreError("not a hazchain dump (export-db writes one)")
    here = _revision(conn)
    if here is None:
        raise RestoreError("the target database is not migrated: run `hazchain migrate` first")
    if header.get("revision") != here:
        raise RestoreError(
            f"the dump is of schema revision {header.get('revision')}, this database is at "
            f"{here}: migrate both to the same revision"
        )
    by_name = {t.name: t for t in _tables()}
    for table in by_name.values():
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            raise RestoreError(f"the target database is not empty (table {table.name} has rows)")
    decoders = {
        name: {c.name: _decoder(c) for c in table.columns} for name, table in by_name.items()
    }
    counts: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    current: str | None = None

    def flush() -> None:
        if pending and current is not None:
            conn.execute(by_name[current].insert(), pending)
            counts[current] = counts.get(current, 0) + len(pending)
            pending.clear()

    restored = 0
    for line in lines:
        if "f" in line:
            _restore_file(files, line)
            restored += 1
            continue
        name = line["t"]
        if name not in by_name:
            raise RestoreError(f"unknown table {name} in the dump")
        if name != current or len(pending) >= BATCH:
            flush()
            current = name
        dec = decoders[name]
        pending.append({k: (None if v is None else dec[k](v)) for k, v in line["r"].items()})
    flush()
    expected = {k: v for k, v in header["tables"].items() if v}
    if counts != expected or restored != header.get("files", 0):
        raise RestoreError(
            f"the dump is incomplete: expected {expected} and {header.get('files', 0)} files, "
            f"read {counts} and {restored} files"
        )
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn)
    return counts


def _reset_sequences(conn: Connection) -> None:
    for table in _tables():
        for col in table.primary_key.columns:
            if col.autoincrement is True or (
                col.autoincrement == "auto" and isinstance(col.type, sa.Integer)
            ):
                seq = conn.execute(
                    sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": col.name},
                ).scalar()
                if seq:
                    conn.execute(
                        sa.text(
                            f'SELECT setval(:s, COALESCE((SELECT max("{col.name}") FROM '
                            f'"{table.name}"), 0) + 1, false)'
                        ),
                        {"s": seq},
                    )
