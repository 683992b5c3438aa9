"""Event registry: stable dotted names, schema versions and upcasting of old payloads."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.domain import events as ev


def test_every_event_type_is_dotted_past_tense_and_unique() -> None:
    names = ev.known_event_types()
    assert len(names) == len(set(names))
    for name in names:
        # "<stream>.<what happened>", snake_case, in the past tense (…ed, or overridden)
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", name), name
        assert name.endswith(("ed", "en")), name


def test_unknown_type_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown event type"):
        ev.load_event("lot.teleported", 1, {})


class _Renamed(ev.Event):
    """A test-only event whose v2 renamed `kg` to `weight_kg`."""

    TYPE = "test.renamed"
    SCHEMA_VERSION = 2
    weight_kg: str


ev.register(_Renamed)


@ev.upcaster("test.renamed", 1)
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["weight_kg"] = data.pop("kg")
    return data


def test_a_v1_payload_is_upcast_to_the_current_schema() -> None:
    loaded = ev.load_event("test.renamed", 1, {"kg": "12.5"})
    assert loaded == _Renamed(weight_kg="12.5")
    assert ev.load_event("test.renamed", 2, {"weight_kg": "1"}) == _Renamed(weight_kg="1")


def test_payloads_round_trip_through_json() -> None:
    from datetime import date
    from decimal import Decimal

    e = ev.LotDisposed(method_code="D10", completed_on=date(2026, 4, 1))
    assert ev.load_event(e.TYPE, e.SCHEMA_VERSION, e.payload()) == e
    w = ev.LotWeighed(weight_kg=Decimal("12.345"))
    assert w.payload() == {"weight_kg": "12.345"}
    assert ev.load_event(w.TYPE, 1, w.payload()) == w
