"""The change trail of the master data: one writer for parties and identity.

Parties (licences, vehicles, crew, contracts, approvals, plans) and identity (enterprises,
sites, users, handheld devices) write a row into `party_change` (the table kept its first name)
in the transaction of the change itself: who (`actor_id`; none for the command line, with
`"via": "cli"` in the data), when, which record, what was done, and the values after. An update
of identity also names the fields it changed, each `{"before", "after"}`.

No secret is ever written: a field named for a password (or its hash), a token or a secret is
left out of the values, and refused by the writer (`record_change` raises) should one slip into
the data.

The table is append-only by trigger, as the custody log is (UPDATE and DELETE refused; a
correction is a new row), and hash-chained in `id` order: each row's `hash` covers its content
and the `hash` of the row before (`change_hash`). Writers take the chain's head under a lock
(PostgreSQL: a transaction-scoped advisory lock; SQLite: the write transaction's `BEGIN
IMMEDIATE`), so rows chain in the order they are numbered. `verify_change_trail`, run with
every verification of the log, recomputes the chain: a row altered, removed or inserted by
someone who dropped the triggers breaks it. Rows removed from the end leave a shorter chain
that still links up; a run checks that the head an earlier run saw is still in place, so that
shows too. And like the custody log, the trail's head is signed (`sign_trail_head`, into
`change_trail_checkpoint`) with a key derived from SITE_SIGNING_SEED, which the database does
not hold: a trail rewritten whole, hashes included, no longer has the head a signed checkpoint
names, and rows cut from its end leave a checkpoint beyond it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, select

from app.audit.models import TrailCheckpoint
from app.core.db import canonical_json
from app.core.keys import KeyRing
from app.eventstore.hashing import GENESIS_HASH, ts
from app.identity.permissions import Principal
from app.parties.models import PartyChange

TRAIL_SCHEME = "hazchain-change-trail-v1"
# pg_advisory_xact_lock key of the trail's head (any constant no other lock uses)
TRAIL_LOCK = 0x7A6368616E6765  # "zchange"

# The trail's signing key in the KeyRing: derived as a site's is, under an id no site has.
TRAIL_KEY = uuid5(NAMESPACE_URL, "hazchain:change-trail")

# A field whose name holds one of these never enters the trail (any case, anywhere in the data).
SECRET_WORDS = ("password", "secret", "token")


def is_secret(name: str) -> bool:
    return any(w in name.lower() for w in SECRET_WORDS)


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as JSON: UUIDs, dates, datetimes and decimals as text (as `party_change` always
    held them)."""
    out = {}
    for k, v in values.items():
        if isinstance(v, UUID | date | Decimal):
            out[k] = str(v)
        elif isinstance(v, list):
            out[k] = [plain(x) if isinstance(x, dict) else x for x in v]
        else:
            out[k] = v
    return out


def row_values(row: Any, *, omit: Iterable[str] = ()) -> dict[str, Any]:
    """A table row's column values as JSON, secrets and `omit` left out."""
    skip = set(omit)
    cols = [c for c in row.__table__.columns.keys() if not is_secret(c) and c not in skip]  # noqa: SIM118
    return plain({c: getattr(row, c) for c in cols})


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value differs, each `{"before": …, "after": …}` (secrets never)."""
    return {
        k: {"before": before.get(k), "after": after.get(k)}
        for k in sorted(set(before) | set(after))
        if not is_secret(k) and before.get(k) != after.get(k)
    }


def _secret_keys(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        found = [str(k) for k in value if is_secret(str(k))]
        return found + [k for v in value.values() for k in _secret_keys(v)]
    if isinstance(value, list | tuple):
        return [k for v in value for k in _secret_keys(v)]
    return []


def record_change(
    session: Session,
    *,
    entity: str,
    entity_id: UUID,
    action: str,
    actor: Principal | None,
    at: Any,
    data: Mapping[str, Any],
    via: str | None = None,
) -> PartyChange:
    """Add one change row to the session (the caller's unit of work commits it)."""
    secrets = _secret_keys(data)
    if secrets:
        raise ValueError(f"a change record may not hold {', '.join(sorted(set(secrets)))}")
    values = dict(data)
    if via is not None:
        values["via"] = via
    fields: dict[str, Any] = dict(
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor_id=actor.user_id if actor is not None else None,
        at=at,
        data=values,
    )
    prev = _head(session)
    change = PartyChange(**fields, prev_hash=prev, hash=change_hash(prev_hash=prev, **fields))
    session.add(change)
    session.flush()  # numbered now, under the lock: the next row chains onto this one
    return change


def change_hash(
    *,
    prev_hash: str,
    entity: str,
    entity_id: UUID | str,
    action: str,
    actor_id: UUID | str | None,
    at: datetime,
    data: Mapping[str, Any],
) -> str:
    """hex(sha256(UTF-8 of "\n".join([scheme, prev_hash, entity, entity_id, action, actor_id,
    at, data]))): UUIDs lower-case hyphenated, no actor the empty string, `at` ISO 8601 UTC with
    microseconds, `data` canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = "\n".join(
        [
            TRAIL_SCHEME,
            prev_hash,
            entity,
            str(entity_id),
            action,
            str(actor_id) if actor_id is not None else "",
            ts(at),
            canonical_json(data),
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _head(session: Session) -> str:
    """The hash of the trail's last row, its writers serialised until this transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRAIL_LOCK})
    q = sa.select(PartyChange.hash).order_by(PartyChange.id.desc()).limit(1)  # type: ignore[union-attr]
    return session.execute(q).scalar() or GENESIS_HASH


def sign_trail_head(
    session: Session, keys: KeyRing, now: datetime, every: timedelta | None = None
) -> TrailCheckpoint | None:
    """Sign the trail's head, taken under the writers' lock (none while the trail is empty; the
    existing checkpoint when it was signed at this length). With `every`: only when the trail
    moved since its last checkpoint and that one is `every` old, as the schedule signs."""
    head = _head(session)
    rows = session.execute(sa.select(sa.func.count()).select_from(PartyChange)).scalar_one()
    if rows == 0:
        return None
    last = session.exec(
        select(TrailCheckpoint).order_by(TrailCheckpoint.rows.desc()).limit(1)  # type: ignore[attr-defined]
    ).first()
    if last is not None and last.rows == rows:
        return last
    if last is not None and every is not None and now - last.created_at < every:
        return None
    claims = {
        "iss": "hazchain",
        "typ": "change-trail-checkpoint",
        "rows": rows,
        "hash": head,
        "iat": int(now.timestamp()),
    }
    cp = TrailCheckpoint(
        rows=rows,
        hash=head,
        key_id=keys.key_id(TRAIL_KEY),
        jws=keys.sign(TRAIL_KEY, claims),
        created_at=now,
    )
    session.add(cp)
    session.flush()
    return cp


@dataclass(frozen=True)
class TrailReport:
    """The change trail's verification: rows checked, the head's hash, the signed checkpoints
    that held, the first broken row."""

    rows: int
    head_hash: str
    broken_id: int | None = None
    reason: str | None = None
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return self.reason is None

    def summary(self) -> str:
        if self.ok:
            n = self.checkpoints
            return f"change trail ok: {self.rows} rows, {n} signed checkpoint{'s' * (n != 1)}"
        where = f"at row {self.broken_id}" if self.broken_id is not None else "at its end"
        return f"change trail broken {where}: {self.reason}"


def _signed(conn: sa.Connection, key: Ed25519PublicKey | None) -> tuple[dict[int, str], str | None]:
    """The trail's checkpoints (rows → hash) whose signature and content hold, or the first
    problem with one."""
    if key is None:
        return {}, None
    c = TrailCheckpoint.__table__  # type: ignore[attr-defined]
    out: dict[int, str] = {}
    for cp in conn.execute(sa.select(c).order_by(c.c.rows)):
        try:
            claims = jwt.decode(cp.jws, key, algorithms=["EdDSA"], options={"verify_iat": False})
        except jwt.PyJWTError as exc:
            return out, f"signed checkpoint at row {cp.rows} does not verify ({exc})"
        if claims.get("rows") != cp.rows or claims.get("hash") != cp.hash:
            return out, f"signed checkpoint at row {cp.rows} differs from what was signed"
        out[cp.rows] = cp.hash
    return out, None


def verify_change_trail(
    conn: sa.Connection,
    seen: tuple[int, str] | None = None,
    key: Ed25519PublicKey | None = None,
) -> TrailReport:
    """Recompute the trail's chain on `conn`. `seen`: (rows, head hash) an earlier run found;
    the chain must still hold that head at that row, or rows were removed or rewritten. `key`:
    the trail's public key; each signed checkpoint must verify with it and the chain must hold
    its hash at its row."""
    signed, problem = _signed(conn, key)
    if problem is not None:
        return TrailReport(0, GENESIS_HASH, None, problem)
    t = PartyChange.__table__  # type: ignore[attr-defined]
    prev, n, held = GENESIS_HASH, 0, 0
    rows = conn.execute(sa.select(t).order_by(t.c.id).execution_options(yield_per=2000))
    for r in rows:
        if r.prev_hash != prev:
            reason = "prev_hash is not the hash of the row before: a row removed or inserted"
            return TrailReport(n, prev, r.id, reason)
        expected = change_hash(
            prev_hash=r.prev_hash,
            entity=r.entity,
            entity_id=r.entity_id,
            action=r.action,
            actor_id=r.actor_id,
            at=r.at,
            data=r.data,
        )
        if r.hash != expected:
            return TrailReport(n, prev, r.id, "hash does not match the row: the row was altered")
        n += 1
        if seen is not None and n == seen[0] and r.hash != seen[1]:
            reason = f"row {r.id} is not the head an earlier verification saw at row {n}"
            return TrailReport(n, r.hash, r.id, reason, held)
        if n in signed:
            if r.hash != signed[n]:
                reason = (
                    f"row {r.id} is not the head the signed checkpoint names at row {n}: "
                    "the trail was rewritten"
                )
                return TrailReport(n, r.hash, r.id, reason, held)
            held += 1
        prev = r.hash
    if seen is not None and n < seen[0]:
        reason = f"{n} rows where an earlier verification saw {seen[0]}: rows removed"
        return TrailReport(n, prev, None, reason, held)
    beyond = max(signed, default=0)
    if beyond > n:
        reason = f"{n} rows where a signed checkpoint covers {beyond}: rows removed"
        return TrailReport(n, prev, None, reason, held)
    return TrailReport(n, prev, checkpoints=held)
