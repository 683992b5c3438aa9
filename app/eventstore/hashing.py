"""How an event's hash is computed. Standard library only: the offline verifier mirrors it.

    hash = hex(sha256(UTF-8 of "\n".join([
        scheme, prev_hash, site_id, chain_position, event_id, stream_type, stream_id,
        version, type, schema_version, occurred_at, recorded_at, actor_id, device_id,
        rule_set_version, findings, payload])))

UUIDs are lower-case hyphenated strings, integers in decimal, timestamps ISO 8601 UTC with
microseconds (`2026-03-01T08:00:00.000000+00:00`), absent values the empty string, and
`findings` / `payload` the canonical JSON text stored in the row (sorted keys, no spaces,
UTF-8), so any change to a stored byte changes the hash. No field can contain a newline:
JSON text escapes control characters, and the other fields are identifiers, numbers and
timestamps, so the joined text splits back into exactly these 17 fields.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import UUID

SCHEME = "hazchain-chain-v1"
GENESIS_HASH = "0" * 64
# The hashed fields in order, as the log export's header names them for the offline verifier.
HASHED_FIELDS = (
    "scheme",
    "prev_hash",
    "site_id",
    "chain_position",
    "event_id",
    "stream_type",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "device_id",
    "rule_set_version",
    "findings",
    "payload",
)
FIELDS = len(HASHED_FIELDS)


class MalformedEvent(ValueError):
    """A row that cannot have been written by the store (its fields do not split back)."""


def ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


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
    material = "\n".join(
        (
            SCHEME,
            prev_hash,
            str(site_id),
            str(chain_position),
            str(event_id),
            stream_type,
            str(stream_id),
            str(version),
            type,
            str(schema_version),
            occurred_at if isinstance(occurred_at, str) else ts(occurred_at),
            recorded_at if isinstance(recorded_at, str) else ts(recorded_at),
            "" if actor_id is None else str(actor_id),
            "" if device_id is None else str(device_id),
            rule_set_version or "",
            findings_json,
            payload_json,
        )
    )
    if material.count("\n") != FIELDS - 1:
        raise MalformedEvent("a hashed field contains a newline")
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
