"""How an event's hash is computed. Standard library only: the offline verifier mirrors it.

    hash = sha256( JSON array [scheme, prev_hash, site_id, chain_position, event_id,
                   stream_type, stream_id, version, type, schema_version, occurred_at,
                   recorded_at, actor_id, device_id, rule_set_version, findings, payload] )

UUIDs are lower-case hyphenated strings, timestamps ISO 8601 UTC with microseconds
(`2026-03-01T08:00:00.000000+00:00`), absent values `null`, and `findings` / `payload` the
canonical JSON text stored in the row (sorted keys, no spaces, UTF-8), so any change to a
stored byte changes the hash. The array is serialised with `separators=(",", ":")` and
`ensure_ascii=False`, then UTF-8 encoded.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from uuid import UUID

SCHEME = "hazchain-v1"
GENESIS_HASH = "0" * 64

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _id(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def event_hash(
    *,
    prev_hash: str,
    site_id: UUID | str,
    chain_position: int,
    event_id: UUID | str,
    stream_type: str,
    stream_id: UUID | str,
    version: int,
    type: str,
    schema_version: int,
    occurred_at: datetime | str,
    recorded_at: datetime | str,
    actor_id: UUID | str | None,
    device_id: UUID | str | None,
    rule_set_version: str | None,
    findings_json: str,
    payload_json: str,
) -> str:
    material = _dumps(
        [
            SCHEME,
            prev_hash,
            str(site_id),
            chain_position,
            str(event_id),
            stream_type,
            str(stream_id),
            version,
            type,
            schema_version,
            occurred_at if isinstance(occurred_at, str) else ts(occurred_at),
            recorded_at if isinstance(recorded_at, str) else ts(recorded_at),
            _id(actor_id),
            _id(device_id),
            rule_set_version,
            findings_json,
            payload_json,
        ]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
