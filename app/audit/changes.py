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
correction is a new row). Unlike the custody log it is not hash-chained or signed: a database
owner who drops the triggers can change it undetected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlmodel import Session

from app.identity.permissions import Principal
from app.parties.models import PartyChange

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
    change = PartyChange(
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor_id=actor.user_id if actor is not None else None,
        at=at,
        data=values,
    )
    session.add(change)
    return change
