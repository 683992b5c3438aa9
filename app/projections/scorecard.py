"""Aggregates the scorecard reads, maintained inline (so a year's scorecard reads a few hundred
rows, never the log or every lot), and the period inputs recorded on the `scorecard` stream.

* `rm_waste_month` (site, month, kind, category, waste_code, method_code): generation and
  custody counters on method_code "" — generated count/kg (keyed by the generation month; a
  later weighing or repack moves the kg of that month), of those the ones still exempt under
  豁免管理清单 #24 (R61, until first stored) and their kg, labelled-before-first-storage and
  first-storage counts (generation month), lots that left (shipping month) and of those the
  ones received on their manifest (shipping month); completions (disposed / utilised) on
  their method code, keyed by the completion event's month, with the fully traced count.
* `rm_waste_transfer_day` (site, day, handler licence, waste_code, method_code): shipments
  ("") and completions per handler licence, for the licence veto and point-to-point cases.
* `rm_event_delay_month` (site, month, delay in whole hours, capped): lot and manifest events
  by recorded_at − occurred_at, so any timeliness window in hours is a sum.
* `rm_manifest_month` (site, month): manifests dispatched in the system, and of those the ones
  back-entered from a paper manifest (run on paper, so not electronic).
* `rm_scorecard_input`, `rm_scorecard_evidence`: the latest inputs per site and year, and the
  evidence files, from `scorecard.*` events.

Months are China months (UTC+8), as in the ledger exports.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.core.db import CanonicalJSON, UTCDateTime
from app.domain import events as ev
from app.domain import manifest as manifest_domain
from app.domain.lot import LotState
from app.domain.scorecard.inputs import (
    PeriodInputs,
    ScorecardEvidenceAttached,
    ScorecardInputsRecorded,
)
from app.domain.values import CHINA_TZ as CHINA
from app.eventstore.models import EventRecord
from app.eventstore.store import domain_event, write_pending
from app.projections.base import projector, register_tables
from app.projections.lots import LotRow, state_before, state_before_from_log, state_of
from app.projections.manifests import ManifestRow

KG = sa.Numeric(16, 3)
MAX_DELAY_H = 24 * 400


def month_of(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m")


def day_of(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def _int() -> sa.Column[Any]:
    return sa.Column(sa.Integer(), nullable=False, server_default="0")


def _kg() -> sa.Column[Any]:
    return sa.Column(KG, nullable=False, server_default="0")


class WasteMonthRow(SQLModel, table=True):
    __tablename__ = "rm_waste_month"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    month: str = Field(sa_column=sa.Column(sa.String(7), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    category: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    waste_code: str = Field(sa_column=sa.Column(sa.String(12), primary_key=True))
    method_code: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    generated_count: int = Field(default=0, sa_column=_int())
    generated_kg: Decimal = Field(default=Decimal(0), sa_column=_kg())
    labelled_before_storage: int = Field(default=0, sa_column=_int())
    # of the generated, those still exempt under 豁免管理清单 #24 (R61: no label needed, not
    # managed as hazardous waste) and their kg
    exempt_count: int = Field(default=0, sa_column=_int())
    exempt_kg: Decimal = Field(default=Decimal(0), sa_column=_kg())
    stored_count: int = Field(default=0, sa_column=_int())
    left_count: int = Field(default=0, sa_column=_int())
    left_kg: Decimal = Field(default=Decimal(0), sa_column=_kg())
    left_received_count: int = Field(default=0, sa_column=_int())
    completed_count: int = Field(default=0, sa_column=_int())
    completed_kg: Decimal = Field(default=Decimal(0), sa_column=_kg())
    traced_count: int = Field(default=0, sa_column=_int())


class WasteTransferDayRow(SQLModel, table=True):
    __tablename__ = "rm_waste_transfer_day"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    day: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    handler_licence_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    waste_code: str = Field(sa_column=sa.Column(sa.String(12), primary_key=True))
    method_code: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    handler_enterprise_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    lot_count: int = Field(default=0, sa_column=_int())
    kg: Decimal = Field(default=Decimal(0), sa_column=_kg())


class EventDelayMonthRow(SQLModel, table=True):
    __tablename__ = "rm_event_delay_month"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    month: str = Field(sa_column=sa.Column(sa.String(7), primary_key=True))
    delay_h: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    event_count: int = Field(default=0, sa_column=_int())


class ManifestMonthRow(SQLModel, table=True):
    __tablename__ = "rm_manifest_month"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    month: str = Field(sa_column=sa.Column(sa.String(7), primary_key=True))
    dispatched_count: int = Field(default=0, sa_column=_int())
    paper_count: int = Field(default=0, sa_column=_int())  # of those, back-entered from paper


class ScorecardInputRow(SQLModel, table=True):
    __tablename__ = "rm_scorecard_input"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    year: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    values: dict[str, Any] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    self_assessed: dict[str, Any] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    entries: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_by: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))


class ScorecardEvidenceRow(SQLModel, table=True):
    __tablename__ = "rm_scorecard_evidence"

    event_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    year: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    criterion: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    filename: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    content_type: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))
    attached_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    attached_by: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))


register_tables(
    WasteMonthRow.__table__,  # type: ignore[attr-defined]
    WasteTransferDayRow.__table__,  # type: ignore[attr-defined]
    EventDelayMonthRow.__table__,  # type: ignore[attr-defined]
    ManifestMonthRow.__table__,  # type: ignore[attr-defined]
    ScorecardInputRow.__table__,  # type: ignore[attr-defined]
    ScorecardEvidenceRow.__table__,  # type: ignore[attr-defined]
)


# ---------------------------------------------------------------- helpers


def _bump(session: Session, model: type[SQLModel], key: dict[str, Any], **add: Any) -> None:
    pk = tuple(key[c.name] for c in model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    row = session.get(model, pk)
    if row is None:
        row = model(**key, **{k: 0 for k in add})
        extra = {k: v for k, v in add.items() if k == "handler_enterprise_id"}
        for k, v in extra.items():
            setattr(row, k, v)
        session.add(row)
        session.flush()  # visible to `session.get` for the next event of the batch
    for k, v in add.items():
        if k == "handler_enterprise_id":
            continue
        setattr(row, k, getattr(row, k) + v)


def _waste(session: Session, s: LotState, month: str, method: str = "", **add: Any) -> None:
    key = {
        "site_id": s.site_id,
        "month": month,
        "kind": s.kind.value,
        "category": s.category,
        "waste_code": s.waste_code or "",
        "method_code": method,
    }
    _bump(session, WasteMonthRow, key, **add)


def _delay(session: Session, row: EventRecord) -> None:
    seconds = (row.recorded_at - row.occurred_at).total_seconds()
    hours = min(MAX_DELAY_H, max(0, math.ceil(seconds / 3600)))
    key = {"site_id": row.site_id, "month": month_of(row.occurred_at), "delay_h": hours}
    _bump(session, EventDelayMonthRow, key, event_count=1)


def _traced(s: LotState) -> bool:
    """generation → label → storage → manifest → pickup → receipt, before completion."""
    return all(
        (s.labelled_at, s.digital_id, s.stored_at, s.manifest_id, s.shipped_at, s.received_at)
    )


# ---------------------------------------------------------------- projectors


@projector("lot")
def project_lot_aggregates(session: Session, row: EventRecord) -> None:
    """Runs after `project_lot` (registered first): rm_lot holds the state after the event;
    the state before is rebuilt only where a counter needs it."""
    _delay(session, row)
    event = domain_event(row)
    lot = session.get(LotRow, row.stream_id)
    if lot is None:
        return
    after = state_of(lot)
    gen_month = month_of(after.generated_at)
    match event:
        case ev.LotGenerated():
            _waste(
                session,
                after,
                gen_month,
                generated_count=1,
                generated_kg=after.weight_kg,
                exempt_count=1 if after.exempt else 0,
                exempt_kg=after.weight_kg if after.exempt else Decimal(0),
            )
        case ev.LotWeighed() | ev.LotRepacked():
            previous = _previous_weight(session, row)
            if previous is not None and previous != after.weight_kg:
                change = after.weight_kg - previous
                _waste(
                    session,
                    after,
                    gen_month,
                    generated_kg=change,
                    exempt_kg=change if after.exempt else Decimal(0),
                )
        case ev.LotStored():
            if _first_storage(session, row):
                labelled = 1 if after.digital_id and after.labelled_at else 0
                # an exempt lot is first stored here: the exemption ends (R61)
                before = state_before(session, row) or state_before_from_log(session, row)
                ended = before is not None and before.exempt
                _waste(
                    session,
                    after,
                    gen_month,
                    stored_count=1,
                    labelled_before_storage=labelled,
                    exempt_count=-1 if ended else 0,
                    exempt_kg=-after.weight_kg if ended else Decimal(0),
                )
        case ev.LotShipped():
            _waste(session, after, month_of(row.occurred_at), left_count=1, left_kg=after.weight_kg)
            m = session.get(ManifestRow, event.manifest_id)
            if m is not None:
                _transfer(session, after, m, row.occurred_at, "", after.weight_kg)
        case ev.LotReceived():
            shipped_at = after.shipped_at or row.occurred_at
            _waste(session, after, month_of(shipped_at), left_received_count=1)
        case ev.LotDisposed() | ev.LotUtilised():
            weight = (
                after.accepted_weight_kg
                if after.accepted_weight_kg is not None
                else after.weight_kg
            )
            _waste(
                session,
                after,
                month_of(row.occurred_at),
                event.method_code,
                completed_count=1,
                completed_kg=weight,
                traced_count=1 if _traced(after) else 0,
            )
            if after.manifest_id is not None:
                m = session.get(ManifestRow, after.manifest_id)
                if m is not None:
                    _transfer(session, after, m, row.occurred_at, event.method_code, weight)


def _transfer(
    session: Session, s: LotState, m: ManifestRow, at: datetime, method: str, weight: Decimal
) -> None:
    key = {
        "site_id": s.site_id,
        "day": day_of(at),
        "handler_licence_id": m.handler_licence_id,
        "waste_code": s.waste_code or "",
        "method_code": method,
    }
    _bump(
        session,
        WasteTransferDayRow,
        key,
        handler_enterprise_id=m.handler_enterprise_id,
        lot_count=1,
        kg=weight,
    )


def _stream_events(session: Session, row: EventRecord) -> list[tuple[str, dict[str, Any]]]:
    from app.eventstore.models import StoredEvent

    t = StoredEvent.__table__  # type: ignore[attr-defined]
    write_pending(session)  # a batch's appends kept in memory are part of the stream
    rows = session.execute(
        sa.select(t.c.type, t.c.payload)
        .where(t.c.stream_id == row.stream_id, t.c.version < row.version)
        .order_by(t.c.version)
    ).all()
    return [(r[0], r[1]) for r in rows]


def _previous_weight(session: Session, row: EventRecord) -> Decimal | None:
    """The lot's weight before this weighing/repack (the last weight-bearing event before it;
    weights are not correctable, so that is the weight of the state before the event)."""
    before = state_before(session, row)
    if before is not None:
        return before.weight_kg
    weight: Decimal | None = None
    for type_, payload in _stream_events(session, row):
        if type_ in ("lot.generated", "lot.weighed") or (
            type_ == "lot.repacked" and payload.get("weight_kg") is not None
        ):
            weight = Decimal(str(payload["weight_kg"]))
    return weight


def _first_storage(session: Session, row: EventRecord) -> bool:
    return not any(t == "lot.stored" for t, _ in _stream_events(session, row))


@projector("manifest")
def project_manifest_aggregates(session: Session, row: EventRecord) -> None:
    _delay(session, row)
    if row.type == manifest_domain.ManifestDispatched.TYPE:
        key = {"site_id": row.site_id, "month": month_of(row.occurred_at)}
        manifest = session.get(ManifestRow, row.stream_id)
        paper = int(manifest is not None and bool(manifest.state.get("paper")))
        _bump(session, ManifestMonthRow, key, dispatched_count=1, paper_count=paper)


@projector("scorecard")
def project_scorecard(session: Session, row: EventRecord) -> None:
    event = domain_event(row)
    if isinstance(event, ScorecardInputsRecorded):
        current = session.get(ScorecardInputRow, (row.site_id, event.year))
        values = dict(current.values) if current else {}
        values.update(event.values)
        values = {k: v for k, v in values.items() if v is not None}
        assessed = dict(current.self_assessed) if current else {}
        for k, v in event.self_assessed.items():
            if v is None:
                assessed.pop(k, None)
            else:
                assessed[k] = v if isinstance(v, bool) else str(v)
        PeriodInputs.model_validate(values)  # the service validated; fail loudly if not
        if current is None:
            session.add(
                ScorecardInputRow(
                    site_id=row.site_id,
                    year=event.year,
                    values=values,
                    self_assessed=assessed,
                    entries=1,
                    updated_at=row.occurred_at,
                    updated_by=row.actor_id,
                )
            )
        else:
            current.values = values
            current.self_assessed = assessed
            current.entries += 1
            current.updated_at = row.occurred_at
            current.updated_by = row.actor_id
        session.flush()
    elif isinstance(event, ScorecardEvidenceAttached):
        session.add(
            ScorecardEvidenceRow(
                event_id=row.event_id,
                site_id=row.site_id,
                year=event.year,
                criterion=event.criterion,
                sha256=event.sha256,
                filename=event.filename,
                content_type=event.content_type,
                size=event.size,
                description=event.description,
                attached_at=row.occurred_at,
                attached_by=row.actor_id,
            )
        )
