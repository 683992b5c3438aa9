"""Manifest use cases: draft, submit, load, sign, dispatch, receive, confirm / resolve a
discrepancy, return rejected lots, record disposal, close, cancel, corrections; queries.

Each command: replay check (event id) -> load the projection -> portal scope (which party is
acting) -> version -> rules (a `TransferSituation` from the projections and party tables) ->
decide (domain) -> record the manifest's events, then the lots' events, in one transaction.
The manifest stream is chained on the consignor site, like its lots.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4, uuid5

import sqlalchemy as sa
from sqlmodel import Session, select

from app.context import AppContext
from app.core.db import bump_counter
from app.domain import events as ev
from app.domain import lot as lot_domain
from app.domain import manifest as md
from app.domain.errors import (
    ConcurrencyConflict,
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from app.domain.events import Event
from app.domain.lot import LotState, LotStatus
from app.domain.manifest import HandoverStep, ManifestState, ManifestStatus, Party
from app.domain.rules.base import Finding, Step
from app.domain.rules.registry import evaluate, rules_by_id
from app.domain.rules.transfer import (
    Loading,
    TransferSituation,
    china_day,
    item_key,
    load_transfer_data,
    paper_backentry_due,
    receipt_due,
    transit_overdue_hours,
)
from app.domain.values import CONTAINER_ZH, PHYSICAL_FORM_ZH, ReceiptOutcome, Role, WasteKind
from app.eventstore.models import StoredEvent
from app.eventstore.store import CLOCK_SKEW, EventStore, domain_event
from app.identity.models import Enterprise, Site, User
from app.identity.permissions import Permission, Principal, manifest_party
from app.lots import service as lot_service
from app.lots.schemas import EventRead, LotCommandResult
from app.manifests import schemas
from app.manifests.models import HandoverChallenge, ManifestSequence
from app.parties import service as parties
from app.parties.models import CrewRow, HandlerLicenceRow, TransferApprovalRow, VehicleRow
from app.projections.lots import LotRow
from app.projections.lots import state_of as lot_state_of
from app.projections.manifests import ManifestLotRow, ManifestRow, state_of
from app.projections.zones import FacilityRow, ZoneRow
from app.rules import service as rule_service
from app.services.recorder import Recorder
from labels.ids import normalise_scan

STREAM = "manifest"
MANIFEST_NAMESPACE = UUID("0b8f7d2e-4a61-4f0c-9d3e-6c2a1e5b7f90")
QR_PREFIX = "HZSIGN"


# ---------------------------------------------------------------- answers


def _enterprise_name(session: Session, enterprise_id: UUID) -> str | None:
    ent = session.get(Enterprise, enterprise_id)
    return ent.name if ent else None


def manifest_read(
    session: Session, s: ManifestState, viewer_party: str | None = None
) -> schemas.ManifestRead:
    lic = session.get(HandlerLicenceRow, s.handler_licence_id)
    due = receipt_due(load_transfer_data(), s.received_at) if s.received_at else None
    return schemas.ManifestRead(
        **s.model_dump(),
        viewer_party=viewer_party,
        total_weight_kg=s.total_kg,
        receipt_due_on=due,
        handler_name=_enterprise_name(session, s.handler_enterprise_id),
        carrier_name=_enterprise_name(session, s.carrier_enterprise_id),
        licence_no=lic.licence_no if lic else None,
    )


def _event_read(row: Any) -> EventRead:
    return EventRead.model_validate(row)


def _party_of(actor: Principal, s: ManifestState) -> str | None:
    return manifest_party(
        actor,
        site_id=s.site_id,
        carrier_enterprise_id=s.carrier_enterprise_id,
        handler_enterprise_id=s.handler_enterprise_id,
        submitted=s.submitted_at is not None,
    )


def portal_lot(*, session: Session, actor: Principal, code: str) -> LotState | None:
    """The lot carrying this digital ID when it is on a manifest naming the actor's
    organisation as carrier or handler (what a handler's or carrier's handheld may scan)."""
    row = session.exec(select(LotRow).where(LotRow.digital_id == normalise_scan(code))).first()
    if row is None:
        return None
    lot = lot_state_of(row)
    on = lot_manifest(session=session, actor=actor, lot=lot)
    return lot if on is not None and on[1] != "consignor" else None


def _replay(
    session: Session, ctx: AppContext, existing: Any, manifest_id: UUID | None, actor: Principal
) -> schemas.ManifestCommandResult:
    if existing.stream_type != STREAM or (
        manifest_id is not None and existing.stream_id != manifest_id
    ):
        raise Conflict(
            f"event_id {existing.event_id} was already used for a different command "
            f"({existing.type} on {existing.stream_type} {existing.stream_id})",
            event_id=str(existing.event_id),
        )
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    rows = store.load_stream(existing.stream_id)
    # A command may have appended several events (signatures, then the step): the answer was
    # about the last of them, which names the client's event id as its cause.
    last = max(
        (r.version for r in rows if r.causation_id == existing.event_id),
        default=existing.version,
    )
    state = md.fold(
        ((domain_event(r), r.occurred_at) for r in rows if r.version <= last),
        existing.stream_id,
    )
    if state is None:
        raise NotFound("manifest not found")
    party = _party_of(actor, state)
    if party is None:
        raise NotFound("manifest not found")
    return schemas.ManifestCommandResult(
        event=_event_read(existing),
        manifest=manifest_read(session, state, party),
        findings=list(existing.findings),
    )


def _occurred(ctx: AppContext, at: datetime | None) -> datetime:
    return at or ctx.clock.now()


# ---------------------------------------------------------------- numbering


def allocate_number(*, session: Session, division_code: str, day: date) -> str:
    """The next 14-digit number of the origin city in `day`'s year, race-free: one
    ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` on the counter row."""
    division = division_code[:4]
    serial = bump_counter(
        session,
        ManifestSequence.__table__,  # type: ignore[attr-defined]
        {"year": day.year, "division": division},
    )
    return md.format_number(day.year, division, serial)


# ---------------------------------------------------------------- situations


def _licence(session: Session, licence_id: UUID) -> Any:
    row = session.get(HandlerLicenceRow, licence_id)
    if row is None:
        return None
    return parties.licence_view(row, _enterprise_name(session, row.enterprise_id) or "")


def _lot_states(session: Session, s: ManifestState) -> tuple[LotState, ...]:
    ids = [lot.lot_id for lot in s.lots]
    rows = session.exec(select(LotRow).where(LotRow.lot_id.in_(ids))).all()  # type: ignore[attr-defined]
    by_id = {r.lot_id: lot_state_of(r) for r in rows}
    return tuple(by_id[i] for i in ids if i in by_id)


def _ytd_shipped(session: Session, s: ManifestState, lic: Any, year: int) -> dict[str, Decimal]:
    if lic is None:
        return {}
    q = (
        select(ManifestLotRow.waste_code, sa.func.sum(ManifestLotRow.weight_kg))
        .join(ManifestRow, ManifestRow.manifest_id == ManifestLotRow.manifest_id)
        .where(
            ManifestRow.handler_enterprise_id == s.handler_enterprise_id,
            ManifestRow.manifest_id != s.manifest_id,
            ManifestRow.status.not_in(["draft", "cancelled"]),  # type: ignore[attr-defined]
            ManifestRow.planned_date >= date(year, 1, 1),
            ManifestRow.planned_date < date(year + 1, 1, 1),
            ManifestLotRow.returned.is_(False),  # type: ignore[attr-defined]
        )
        .group_by(ManifestLotRow.waste_code)
    )
    out: dict[str, Decimal] = {}
    for code, kg in session.exec(q):  # type: ignore[call-overload]
        item = lic.item_for(code, f"HW{code[-2:]}")
        if item is None:
            continue
        key = item_key(lic.licence_id, item.category, item.waste_codes)
        out[key] = out.get(key, Decimal(0)) + (Decimal(kg) / 1000).quantize(Decimal("0.001"))
    return out


def _approval_shipped(session: Session, s: ManifestState) -> Decimal:
    if s.transfer_approval_id is None:
        return Decimal(0)
    kg = session.exec(
        select(sa.func.coalesce(sa.func.sum(ManifestLotRow.weight_kg), 0))
        .join(ManifestRow, ManifestRow.manifest_id == ManifestLotRow.manifest_id)
        .where(
            ManifestRow.transfer_approval_id == s.transfer_approval_id,
            ManifestRow.manifest_id != s.manifest_id,
            ManifestRow.status.not_in(["draft", "cancelled"]),  # type: ignore[attr-defined]
            ManifestLotRow.returned.is_(False),  # type: ignore[attr-defined]
        )
    ).one()
    return (Decimal(kg) / 1000).quantize(Decimal("0.001"))


def _facility_codes(
    session: Session, lots: Sequence[LotState], s: ManifestState
) -> dict[UUID, tuple[str | None, str | None]]:
    zone_of = {lot.lot_id: lot.zone_id for lot in s.lots}
    out: dict[UUID, tuple[str | None, str | None]] = {}
    for lot in lots:
        zone_id = lot.zone_id or zone_of.get(lot.lot_id)
        zone = session.get(ZoneRow, zone_id) if zone_id else None
        fac = session.get(FacilityRow, zone.facility_id) if zone and zone.facility_id else None
        out[lot.lot_id] = (fac.code, fac.type) if fac else (None, None)
    return out


def situation(
    session: Session,
    ctx: AppContext,
    s: ManifestState,
    step: Step,
    now: datetime,
    **extra: Any,
) -> TransferSituation:
    site = session.get(Site, s.site_id)
    assert site is not None
    day = china_day(now)
    lic = _licence(session, s.handler_licence_id)
    base = TransferSituation(
        step=step,
        now=now,
        day=day,
        manifest=s,
        tdata=load_transfer_data(),
        consignor_division=site.division_code,
        consignor_enterprise_id=site.enterprise_id,
        licence=lic,
        entered_at=ctx.clock.now(),
    )
    if step is Step.transfer:
        base = replace(
            base,
            lots=_lot_states(session, s),
            carrier_licence=parties.carrier_licence_for(session, s.carrier_enterprise_id, day),
            contracts=parties.contracts_of(session, site.enterprise_id),
            approval=parties.approval_view(
                session.get(TransferApprovalRow, s.transfer_approval_id)
                if s.transfer_approval_id
                else None
            ),
            approval_shipped_t=_approval_shipped(session, s),
            plan=parties.plan_for(session, s.site_id, day.year),
            ytd_shipped_t=_ytd_shipped(session, s, lic, day.year),
        )
    elif step is Step.loading:
        lots = _lot_states(session, s)
        base = replace(
            base,
            lots=lots,
            carrier_licence=parties.carrier_licence_for(session, s.carrier_enterprise_id, day),
            lot_facility_codes=_facility_codes(session, lots, s),
        )
    return replace(base, **extra)


def _check(sit: TransferSituation) -> list[Finding]:
    return evaluate(sit)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the command skeleton


@dataclass(frozen=True)
class Outcome:
    """What a command decided: the manifest's events and the lots' (lot_id, decide)."""

    events: list[Event]
    lot_events: list[tuple[UUID, Callable[[LotState], list[Event]]]]
    findings: list[Finding]
    step: Step | None = None


def _load(
    session: Session, actor: Principal, manifest_id: UUID
) -> tuple[ManifestRow, ManifestState, str]:
    row = session.get(ManifestRow, manifest_id)
    if row is None:
        raise NotFound("manifest not found", manifest_id=str(manifest_id))
    s = state_of(row)
    party = _party_of(actor, s)
    if party is None:
        raise NotFound("manifest not found", manifest_id=str(manifest_id))
    return row, s, party


def _require_party(actor: Principal, party: str, allowed: set[Party], action: str) -> Party:
    if party not in {p.value for p in allowed}:
        names = " or ".join(sorted(p.value for p in allowed))
        raise PermissionDenied(
            f"only the {names} may {action} this manifest (you are the {party})",
            party=party,
        )
    needed = {
        "consignor": Permission.manifest_write,
        "carrier": Permission.manifest_carry,
        "handler": Permission.manifest_receive,
    }[party]
    actor.require(needed)
    return Party(party)


def _act(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    env: schemas.Action,
    allowed: set[Party],
    action: str,
    decide: Callable[[ManifestState, Party, datetime], Outcome],
) -> schemas.ManifestCommandResult:
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    existing = store.get(env.event_id)
    if existing is not None:
        return _replay(session, ctx, existing, manifest_id, actor)
    _, state, party_name = _load(session, actor, manifest_id)
    party = _require_party(actor, party_name, allowed, action)
    if state.version != env.expected_version:
        raise ConcurrencyConflict(str(manifest_id), env.expected_version, state.version)
    occurred_at = _occurred(ctx, env.occurred_at)
    outcome = decide(state, party, occurred_at)
    step = outcome.step or Step.transfer
    verdict = rule_service.verdict(
        ctx=ctx, actor=actor, step=step, lot=None, findings=outcome.findings, override_reason=None
    )
    recorder = Recorder(session, ctx)
    recorded = recorder.record(
        actor=actor,
        site_id=state.site_id,
        stream_type=STREAM,
        stream_id=manifest_id,
        expected_version=state.version,
        event_id=env.event_id,
        occurred_at=occurred_at,
        events=outcome.events,
        findings=verdict.recorded,
        rule_set_version=verdict.rule_set_version if outcome.step else None,
    )
    if recorded.replayed:
        return _replay(session, ctx, recorded.rows[0], manifest_id, actor)
    _record_lots(session, ctx, actor, env.event_id, occurred_at, outcome.lot_events)
    return _answer(session, actor, recorded.rows[-1], verdict.recorded)


def _record_lots(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    event_id: UUID,
    at: datetime,
    lot_events: list[tuple[UUID, Callable[[LotState], list[Event]]]],
) -> None:
    recorder = Recorder(session, ctx)
    for lot_id, decide in lot_events:
        row = session.get(LotRow, lot_id)
        if row is None:
            raise InvalidInput("no such lot", lot_id=str(lot_id))
        lot = lot_state_of(row)
        events = decide(lot)
        if not events:
            continue
        recorder.record(
            actor=actor,
            site_id=lot.site_id,
            stream_type="lot",
            stream_id=lot_id,
            expected_version=lot.version,
            event_id=uuid5(event_id, f"lot:{lot_id}"),
            occurred_at=at,
            events=events,
        )


def _answer(
    session: Session, actor: Principal, row: Any, findings: list[dict[str, Any]]
) -> schemas.ManifestCommandResult:
    mrow = session.get(ManifestRow, row.stream_id)
    assert mrow is not None
    s = state_of(mrow)
    return schemas.ManifestCommandResult(
        event=_event_read(row),
        manifest=manifest_read(session, s, _party_of(actor, s)),
        findings=findings,
    )


# ---------------------------------------------------------------- draft


def _packaging(lots: Sequence[LotState]) -> str:
    counts: dict[str, int] = {}
    for lot in lots:
        t = lot.container.type.value
        counts[t] = counts.get(t, 0) + 1
    return "、".join(f"{CONTAINER_ZH.get(t, t)}×{n}" for t, n in sorted(counts.items()))


def _default_licence(session: Session, handler_id: UUID, day: date) -> HandlerLicenceRow:
    rows = session.exec(
        select(HandlerLicenceRow)
        .where(HandlerLicenceRow.enterprise_id == handler_id)
        .order_by(HandlerLicenceRow.valid_to.desc())  # type: ignore[attr-defined]
    ).all()
    if not rows:
        raise InvalidInput(
            "the handler has no 危险废物经营许可证 on file: register it first",
            field="handler_enterprise_id",
        )
    return next((r for r in rows if r.valid_from <= day <= r.valid_to and not r.revoked), rows[0])


def _paper(paper: schemas.PaperFallbackIn | None, ctx: AppContext) -> md.PaperFallback | None:
    if paper is None:
        return None
    if paper.completed_on > china_day(ctx.clock.now()):
        raise InvalidInput("the paper transfer's completion date is in the future", field="paper")
    return md.PaperFallback(
        paper_number=paper.paper_number.strip(),
        completed_on=paper.completed_on,
        reason=paper.reason.strip(),
    )


def create_manifest(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.ManifestCreate
) -> schemas.ManifestCommandResult:
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    existing = store.get(cmd.event_id)
    if existing is not None:
        return _replay(session, ctx, existing, cmd.manifest_id, actor)
    actor.require(Permission.manifest_write)
    actor.require_site(cmd.site_id, hide=False)
    site = session.get(Site, cmd.site_id)
    if site is None:
        raise InvalidInput("no such site", field="site_id")
    handler = session.get(Enterprise, cmd.handler_enterprise_id)
    if handler is None or handler.kind != "handler":
        raise InvalidInput("handler_enterprise_id is not a handler", field="handler_enterprise_id")
    carrier = session.get(Enterprise, cmd.carrier_enterprise_id)
    if carrier is None or carrier.kind != "carrier":
        raise InvalidInput("carrier_enterprise_id is not a carrier", field="carrier_enterprise_id")
    if cmd.shipper not in {Party.consignor, Party.handler}:
        raise InvalidInput(
            "only the consignor or the receiver may be the shipper (托运人, Art. 31)",
            field="shipper",
        )
    if cmd.handler_licence_id is not None:
        lic = session.get(HandlerLicenceRow, cmd.handler_licence_id)
        if lic is None or lic.enterprise_id != handler.id:
            raise InvalidInput("no such licence of this handler", field="handler_licence_id")
    else:
        lic = _default_licence(session, handler.id, cmd.planned_date)
    if (
        cmd.transfer_approval_id is not None
        and session.get(TransferApprovalRow, cmd.transfer_approval_id) is None
    ):
        raise InvalidInput("no such approval", field="transfer_approval_id")
    manifest_id = cmd.manifest_id or uuid5(MANIFEST_NAMESPACE, str(cmd.event_id))
    if session.get(ManifestRow, manifest_id) is not None:
        raise Conflict(f"manifest {manifest_id} already exists", manifest_id=str(manifest_id))
    forwarded = None
    if cmd.forwarded_from is not None:
        _, forwarded, fparty = _load(session, actor, cmd.forwarded_from)
        if fparty != "consignor" or forwarded.site_id != site.id:
            raise InvalidInput(
                "forwarded_from is not a manifest of this site", field="forwarded_from"
            )
    seen: set[UUID] = set()
    lines: list[md.ManifestLine] = []
    mlots: list[md.ManifestLot] = []
    for no, line in enumerate(cmd.lines, start=1):
        code = line.waste_code.strip()
        method = line.planned_method.strip().upper()
        states = []
        for lot_id in line.lot_ids:
            if lot_id in seen:
                raise InvalidInput("a lot appears twice on the manifest", lot_id=str(lot_id))
            seen.add(lot_id)
            row = session.get(LotRow, lot_id)
            if row is None or row.site_id != site.id:
                raise InvalidInput(
                    "no such lot at the consignor site", field="lines", lot_id=str(lot_id)
                )
            lot = lot_state_of(row)
            if lot.kind is not WasteKind.hazardous:
                raise InvalidInput(
                    "general industrial solid waste does not travel on a 转移联单",
                    lot_id=str(lot_id),
                )
            if lot.waste_code != code:
                raise InvalidInput(
                    f"lot {lot.digital_id} is {lot.waste_code}, not {code}: one line per code",
                    lot_id=str(lot_id),
                    field="lines",
                )
            forwarding = (
                forwarded is not None
                and lot.status is LotStatus.rejected
                and lot.manifest_id == forwarded.manifest_id
            )
            if not forwarding:
                lot_domain.allocate(lot, manifest_id)  # raises if the lot cannot be allocated
            states.append(lot)
        first = states[0]
        hazards = sorted({h for s_ in states for h in s_.hazard_characteristics})
        lines.append(
            md.ManifestLine(
                line_no=no,
                waste_code=code,
                category=first.category,
                name=line.name or first.name,
                hazard_characteristics=hazards,
                physical_form=first.physical_form.value,
                harmful_components=first.harmful_components,
                packaging=line.packaging or _packaging(states),
                planned_method=method,
                un_number=line.un_number,
                dg_class=line.dg_class,
            )
        )
        for lot in states:
            mlots.append(
                md.ManifestLot(
                    lot_id=lot.lot_id,
                    line_no=no,
                    digital_id=lot.digital_id,
                    name=lot.name,
                    waste_code=code,
                    weight_kg=lot.weight_kg,
                    container_type=lot.container.type.value,
                    zone_id=lot.zone_id,
                )
            )
    occurred_at = _occurred(ctx, cmd.occurred_at)
    cross = lic.division_code[:2] != site.division_code[:2]
    # Lock order, everywhere: the site's chain, then a number counter (never the reverse,
    # or a draft and a handheld batch could deadlock).
    EventStore(session, clock=ctx.clock, keys=ctx.keys).lock(site.id)
    savepoint = session.begin_nested()
    number = allocate_number(
        session=session, division_code=site.division_code, day=china_day(occurred_at)
    )
    event = md.ManifestDrafted(
        number=number,
        site_id=site.id,
        consignor_enterprise_id=site.enterprise_id,
        handler_enterprise_id=handler.id,
        handler_licence_id=lic.id,
        carrier_enterprise_id=carrier.id,
        transfer_approval_id=cmd.transfer_approval_id,
        cross_province=cross,
        shipper=cmd.shipper,
        planned_date=cmd.planned_date,
        emergency_measures=cmd.emergency_measures,
        contact_phone=cmd.contact_phone or site.contact_phone,
        route=cmd.route,
        remarks=cmd.remarks,
        lines=lines,
        lots=mlots,
        forwarded_from=cmd.forwarded_from,
        paper=_paper(cmd.paper, ctx),
    )
    recorded = Recorder(session, ctx).record(
        actor=actor,
        site_id=site.id,
        stream_type=STREAM,
        stream_id=manifest_id,
        expected_version=0,
        event_id=cmd.event_id,
        occurred_at=occurred_at,
        events=[event],
    )
    if recorded.replayed:
        savepoint.rollback()
        existing = EventStore(session, clock=ctx.clock, keys=ctx.keys).get(cmd.event_id)
        assert existing is not None
        return _replay(session, ctx, existing, manifest_id, actor)
    savepoint.commit()
    lot_events: list[tuple[UUID, Callable[[LotState], list[Event]]]] = []
    for ml in mlots:

        def alloc(lot: LotState) -> list[Event]:
            if lot.status is LotStatus.rejected:
                return [
                    lot_domain.return_to_consignor(lot, f"转至新联单 {number}"),
                    *_allocate_after_return(manifest_id),
                ]
            return [lot_domain.allocate(lot, manifest_id)]

        lot_events.append((ml.lot_id, alloc))
    _record_lots(session, ctx, actor, cmd.event_id, occurred_at, lot_events)
    if forwarded is not None:
        _forward_returned(
            session,
            ctx,
            actor,
            forwarded,
            [m.lot_id for m in mlots],
            manifest_id,
            cmd.event_id,
            occurred_at,
        )
    return _answer(session, actor, recorded.rows[-1], [])


def check_draft(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.ManifestCreate
) -> list[dict[str, Any]]:
    """Dry run of a draft: the transfer-rule findings it would get at submit (licence validity
    and approved items, yearly capacity, cross-province approval, contract, management plan),
    without writing anything. The draft is recorded by `create_manifest` inside a savepoint
    that is always rolled back, so the checks are exactly those of the real commands. Raises
    what `create_manifest` raises (a lot that cannot be allocated, an unknown handler...)."""
    savepoint = session.begin_nested()
    try:
        created = create_manifest(session=session, ctx=ctx, actor=actor, cmd=cmd)
        _, state, _ = _load(session, actor, created.manifest.manifest_id)
        findings = _check(situation(session, ctx, state, Step.transfer, ctx.clock.now()))
    finally:
        savepoint.rollback()
    return [f.model_dump(mode="json") for f in findings]


def _allocate_after_return(manifest_id: UUID) -> list[Event]:
    """A rejected lot forwarded to another handler goes back on the consignor's books and is
    allocated to the new manifest at once: it never returns to a zone (it is still at the
    first handler's gate), so it is allocated without the storage precondition."""
    return [ev.LotAllocated(manifest_id=manifest_id)]


def _forward_returned(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    old: ManifestState,
    lot_ids: list[UUID],
    new_id: UUID,
    event_id: UUID,
    at: datetime,
) -> None:
    ids = [i for i in lot_ids if any(m.lot_id == i for m in old.lots)]
    if not ids:
        return
    event = md.return_lots(old, ids, "拒收批次转至其他接受人", forwarded_to=new_id)
    Recorder(session, ctx).record(
        actor=actor,
        site_id=old.site_id,
        stream_type=STREAM,
        stream_id=old.manifest_id,
        expected_version=old.version,
        event_id=uuid5(event_id, f"forward:{old.manifest_id}"),
        occurred_at=at,
        events=[event],
    )


# ---------------------------------------------------------------- transitions


CONSIGNOR = {Party.consignor}


def submit(
    *, session: Session, ctx: AppContext, actor: Principal, manifest_id: UUID, cmd: schemas.Action
) -> schemas.ManifestCommandResult:
    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        event = md.submit(s)
        findings = _check(situation(session, ctx, s, Step.transfer, at))
        return Outcome([event], [], findings, Step.transfer)

    return _act(session, ctx, actor, manifest_id, cmd, CONSIGNOR, "submit", decide)


def load(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestLoad,
) -> schemas.ManifestCommandResult:
    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        scanned = []
        for raw in cmd.scanned:
            code = normalise_scan(raw)
            if code in scanned:
                raise InvalidInput(f"{code} was scanned twice", field="scanned")
            scanned.append(code)
        if not cmd.scanned:  # the handhelds' per-lot scans (load_lot)
            scanned = [lot.digital_id or str(lot.lot_id) for lot in s.lots if lot.scanned_at]
            if not scanned:
                raise InvalidInput(
                    "no lot was scanned at the vehicle: scan them with a handheld or give "
                    "the scanned codes",
                    field="scanned",
                )
        event = md.load(
            s,
            scanned,
            cmd.vehicle_id,
            cmd.driver_id,
            cmd.escort_id,
            cmd.dg_waybill_no,
            cmd.passengers,
        )
        loading = Loading(
            scanned=tuple(scanned),
            vehicle=parties.vehicle_view(session.get(VehicleRow, cmd.vehicle_id)),
            driver=parties.crew_view(session.get(CrewRow, cmd.driver_id)),
            escort=parties.crew_view(session.get(CrewRow, cmd.escort_id)),
            passengers=cmd.passengers,
        )
        findings = _check(situation(session, ctx, s, Step.loading, at, loading=loading))
        return Outcome([event], [], findings, Step.loading)

    return _act(
        session, ctx, actor, manifest_id, cmd, {Party.consignor, Party.carrier}, "load", decide
    )


# ---------------------------------------------------------------- per-lot handheld steps

LotCheck = Callable[[ManifestState, LotState, datetime], list[Finding]]
LotDecide = Callable[[ManifestState, LotState], tuple[Event, Event]]


def _manifest_of(session: Session, cmd: schemas.LotStep, lot: LotState) -> UUID:
    if cmd.manifest_id is not None:
        return cmd.manifest_id
    if cmd.manifest_number:
        number = normalise_scan(cmd.manifest_number)
        found = session.exec(
            select(ManifestRow.manifest_id).where(ManifestRow.number == number)
        ).first()
        if found is None:
            raise NotFound("no manifest carries this number", manifest_number=number)
        return found
    if lot.manifest_id is None:
        raise InvalidInput(
            "the lot is on no manifest: scan the manifest first", field="manifest_id"
        )
    return lot.manifest_id


def _lot_step(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    cmd: schemas.LotStep,
    allowed: set[Party],
    action: str,
    step: Step,
    check: LotCheck,
    decide: LotDecide,
) -> LotCommandResult:
    """One lot's step on a manifest, as a handheld takes it: the lot's event (carrying the
    client's event id and checked against the lot version the device saw) and the manifest's
    event recording it on the manifest, in one transaction."""
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    existing = store.get(cmd.event_id)
    if existing is not None:
        return lot_service.replayed(session, ctx, existing, cmd.lot_id, actor)
    row = session.get(LotRow, cmd.lot_id)
    if row is None:
        raise NotFound("lot not found", lot_id=str(cmd.lot_id))
    lot = lot_state_of(row)
    manifest_id = _manifest_of(session, cmd, lot)
    # Handhelds scan lots of one truck at once: serialise their manifest appends (PostgreSQL;
    # SQLite's write transactions are serial already) instead of failing all but one.
    session.get(ManifestRow, manifest_id, with_for_update=True)
    _, state, party_name = _load(session, actor, manifest_id)
    party = _require_party(actor, party_name, allowed, action)
    if party is Party.consignor:
        actor.require_site(lot.site_id)
    elif lot.manifest_id != manifest_id:
        raise NotFound("lot not found", lot_id=str(cmd.lot_id))
    if lot.version != cmd.expected_version:
        raise ConcurrencyConflict(str(lot.lot_id), cmd.expected_version, lot.version)
    at = _occurred(ctx, cmd.occurred_at)
    verdict = rule_service.verdict(
        ctx=ctx,
        actor=actor,
        step=step,
        lot=None,
        findings=check(state, lot, at),
        override_reason=None,
    )
    manifest_event, lot_event = decide(state, lot)
    recorder = Recorder(session, ctx)
    recorder.record(
        actor=actor,
        site_id=state.site_id,
        stream_type=STREAM,
        stream_id=manifest_id,
        expected_version=state.version,
        event_id=uuid5(cmd.event_id, f"manifest:{manifest_id}"),
        occurred_at=at,
        events=[manifest_event],
    )
    recorded = recorder.record(
        actor=actor,
        site_id=lot.site_id,
        stream_type="lot",
        stream_id=lot.lot_id,
        expected_version=lot.version,
        event_id=cmd.event_id,
        occurred_at=at,
        events=[lot_event],
        findings=verdict.recorded,
        rule_set_version=verdict.rule_set_version,
    )
    return lot_service.answered(session, ctx, recorded.rows[-1])


def load_lot(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.LotLoadScan
) -> LotCommandResult:
    """A handheld scans one lot at the vehicle (manifest submitted). A lot that is not on the
    manifest, or whose label differs from its line, is refused with R37's cited finding; the
    manifest's `load` later takes these scans when it is given none of its own."""

    def check(s: ManifestState, lot: LotState, at: datetime) -> list[Finding]:
        code = lot.digital_id or str(lot.lot_id)
        loading = Loading(
            scanned=(code,), vehicle=None, driver=None, escort=None, scanned_lots={code: lot}
        )
        listed = _on_line(s, lot)
        return [
            f
            for f in _check(situation(session, ctx, s, Step.loading, at, loading=loading))
            if f.rule_id == "R37"
            and f.values.get("problem") != "missing"
            and f.values.get("digital_id") in (code, listed)
        ]

    def decide(s: ManifestState, lot: LotState) -> tuple[Event, Event]:
        loaded = lot_domain.load(lot, s.manifest_id, cmd.vehicle_plate)  # normalises the plate
        code = lot.digital_id or str(lot.lot_id)
        return md.scan_lot(s, lot.lot_id, code, loaded.vehicle_plate), loaded

    return _lot_step(
        session,
        ctx,
        actor,
        cmd,
        {Party.consignor, Party.carrier},
        "load",
        Step.loading,
        check,
        decide,
    )


def _on_line(s: ManifestState, lot: LotState) -> str | None:
    """The digital ID the manifest lists for this lot (None when the lot is not on it)."""
    return next((m.digital_id for m in s.lots if m.lot_id == lot.lot_id), None)


def receive_lot(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.LotCheckIn
) -> LotCommandResult:
    """The handler's handheld scans and weighs one lot on arrival (manifest in transit), with
    the outcome the handler proposes. The receipt itself (`receive`, with both signatures)
    takes these weighings for the lots it is given none for."""

    def decide(s: ManifestState, lot: LotState) -> tuple[Event, Event]:
        lot_event = lot_domain.check_in(
            lot, s.manifest_id, cmd.outcome, cmd.received_weight_kg, cmd.accepted_weight_kg
        )
        manifest_event = md.check_in_lot(
            s,
            lot.lot_id,
            lot_event.received_weight_kg,
            list(cmd.mismatches),
            lot_event.outcome,
            lot_event.accepted_weight_kg,
            load_transfer_data().within_tolerance,
        )
        return manifest_event, lot_event

    return _lot_step(
        session,
        ctx,
        actor,
        cmd,
        {Party.handler},
        "receive",
        Step.receipt,
        lambda s, lot, at: [],
        decide,
    )


def _signer_name(session: Session, user_id: UUID) -> str:
    user = session.get(User, user_id)
    return user.display_name if user else str(user_id)


def _redeem(
    session: Session, ctx: AppContext, s: ManifestState, step: HandoverStep, raw: str
) -> HandoverChallenge:
    """The challenge a code or QR payload names: unused, unexpired, for this manifest and
    handover. Marked used in the same transaction as the signature."""
    text = raw.strip()
    challenge_id = None
    code = text
    if text.upper().startswith(QR_PREFIX + ":"):
        parts = text.split(":")
        if len(parts) != 4:
            raise InvalidInput("not a handover QR payload", field="code")
        try:
            challenge_id = UUID(parts[1])
        except ValueError as exc:
            raise InvalidInput("not a handover QR payload", field="code") from exc
        code = parts[3]
    now = ctx.clock.now()
    q = select(HandoverChallenge).where(
        HandoverChallenge.manifest_id == s.manifest_id,
        HandoverChallenge.step == step.value,
        HandoverChallenge.used_at.is_(None),  # type: ignore[union-attr]
    )
    if challenge_id is not None:
        q = q.where(HandoverChallenge.id == challenge_id)
    for ch in session.exec(q):
        if ch.expires_at <= now:
            continue
        if hmac.compare_digest(ch.code_hash, _code_hash(ch.manifest_id, step.value, code)):
            ch.used_at = now
            session.add(ch)
            return ch
    raise InvalidInput(
        "the one-time code is wrong, used or expired: ask the other party for a new one",
        field="code",
    )


def _code_hash(manifest_id: UUID, step: str, code: str) -> str:
    return hashlib.sha256(f"{manifest_id}:{step}:{code.strip()}".encode()).hexdigest()


def issue_challenge(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ChallengeCreate,
) -> schemas.ChallengeRead:
    """A one-time code for the caller's party to sign a handover on the other party's device."""
    _, s, party_name = _load(session, actor, manifest_id)
    if party_name == "regulator":
        raise PermissionDenied("a regulator does not sign handovers")
    party = Party(party_name)
    md.check_handover_open(s, cmd.step, party)  # no code before the handover opens
    code = f"{secrets.randbelow(10**8):08d}"
    now = ctx.clock.now()
    ch = HandoverChallenge(
        id=uuid4(),
        manifest_id=manifest_id,
        step=cmd.step.value,
        party=party.value,
        code_hash=_code_hash(manifest_id, cmd.step.value, code),
        issued_by=actor.user_id,
        issued_by_name=_signer_name(session, actor.user_id),
        issued_at=now,
        expires_at=now + timedelta(minutes=cmd.ttl_minutes),
        attempts=0,
    )
    session.add(ch)
    session.flush()
    return schemas.ChallengeRead(
        challenge_id=ch.id,
        manifest_id=manifest_id,
        step=cmd.step,
        party=party,
        code=code,
        qr_payload=f"{QR_PREFIX}:{ch.id}:{s.number}:{code}",
        expires_at=ch.expires_at,
    )


def _signatures(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    s: ManifestState,
    party: Party,
    step: HandoverStep,
    counterpart_code: str | None,
) -> tuple[list[Event], ManifestState]:
    """The acting party's signature (signed-in user) and, with a code, the counterpart's."""
    events: list[Event] = []
    now = ctx.clock.now()
    if party in md.HANDOVER_PARTIES[step] and s.signed(step, party) is None:
        e = md.sign(
            s,
            step,
            party,
            actor.user_id,
            _signer_name(session, actor.user_id),
            md.SignatureMethod.session,
        )
        events.append(e)
        s = md.evolve(s, e, now, s.manifest_id)
    if counterpart_code:
        ch = _redeem(session, ctx, s, step, counterpart_code)
        e = md.sign(
            s,
            step,
            Party(ch.party),
            ch.issued_by,
            ch.issued_by_name,
            md.SignatureMethod.one_time_code,
            ch.id,
        )
        events.append(e)
        s = md.evolve(s, e, now, s.manifest_id)
    return events, s


def sign(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestSign,
) -> schemas.ManifestCommandResult:
    """Sign a handover: for your own party (signed in), or record the counterpart's one-time
    code typed or scanned on this device."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        if cmd.code:  # only the counterpart's code is recorded
            ch = _redeem(session, ctx, s, cmd.step, cmd.code)
            events: list[Event] = [
                md.sign(
                    s,
                    cmd.step,
                    Party(ch.party),
                    ch.issued_by,
                    ch.issued_by_name,
                    md.SignatureMethod.one_time_code,
                    ch.id,
                )
            ]
        else:
            events, _ = _signatures(session, ctx, actor, s, party, cmd.step, None)
        if not events:
            raise InvalidTransition(
                f"the {party.value} does not sign the {cmd.step.value} handover, or already did"
            )
        return Outcome(events, [], [])

    return _act(
        session,
        ctx,
        actor,
        manifest_id,
        cmd,
        {Party.consignor, Party.carrier, Party.handler},
        "sign",
        decide,
    )


def dispatch(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.HandoverAction,
) -> schemas.ManifestCommandResult:
    """The consignor hands the load over to the carrier: both sign; the lots are shipped."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        events, s2 = _signatures(
            session, ctx, actor, s, party, HandoverStep.dispatch, cmd.counterpart_code
        )
        events.append(md.dispatch(s2))
        lots = [
            (lot.lot_id, lambda ls, mid=s.manifest_id: [lot_domain.ship(ls, mid)]) for lot in s.lots
        ]
        return Outcome(events, lots, [])  # type: ignore[arg-type]

    return _act(
        session, ctx, actor, manifest_id, cmd, {Party.consignor, Party.carrier}, "dispatch", decide
    )


def _decisions_events(
    s: ManifestState, decisions: list[md.LotDecision]
) -> list[tuple[UUID, Callable[[LotState], list[Event]]]]:
    out: list[tuple[UUID, Callable[[LotState], list[Event]]]] = []
    for d in decisions:
        mlot = s.lot(d.lot_id)
        received = mlot.received_kg if mlot.received_kg is not None else mlot.weight_kg

        def decide(
            ls: LotState, d: md.LotDecision = d, received: Decimal = received
        ) -> list[Event]:
            return [lot_domain.receive(ls, d.outcome, received, d.accepted_kg)]

        out.append((d.lot_id, decide))
    return out


def _decision(
    s: ManifestState,
    lot_id: UUID,
    outcome: ReceiptOutcome,
    accepted: Decimal | None,
    method: str | None,
) -> md.LotDecision:
    mlot = s.lot(lot_id)
    received = mlot.received_kg if mlot.received_kg is not None else mlot.weight_kg
    if accepted is None:
        accepted = Decimal(0) if outcome is ReceiptOutcome.rejected else received
    if outcome is ReceiptOutcome.accepted and accepted != received:
        raise InvalidInput(
            "use partly_accepted when less than the received weight is accepted",
            lot_id=str(lot_id),
        )
    if outcome is ReceiptOutcome.partly_accepted and not 0 < accepted < received:
        raise InvalidInput(
            "partly_accepted needs 0 < accepted_kg < received weight", lot_id=str(lot_id)
        )
    if outcome is ReceiptOutcome.rejected and accepted != 0:
        raise InvalidInput("a rejected lot has no accepted weight", lot_id=str(lot_id))
    code = method.strip().upper() if method else None
    if outcome is ReceiptOutcome.rejected:
        code = None
    return md.LotDecision(lot_id=lot_id, outcome=outcome, accepted_kg=accepted, method_code=code)


def receive(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestReceive,
) -> schemas.ManifestCommandResult:
    """The carrier hands the load over to the handler (both sign); the handler weighs each lot.
    Without a discrepancy every lot is accepted at once with its method code; otherwise the
    discrepancy stays open until `confirm`."""
    tdata = load_transfer_data()

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        events, s2 = _signatures(
            session, ctx, actor, s, party, HandoverStep.receipt, cmd.counterpart_code
        )
        weighed = [
            md.ReceivedLot(lot_id=r.lot_id, received_kg=r.received_kg, mismatches=r.mismatches)
            for r in cmd.lots
        ]
        given = {r.lot_id for r in cmd.lots}
        weighed += [  # lots the handhelds checked in (receive_lot) and the command leaves out
            md.ReceivedLot(
                lot_id=lot.lot_id,
                received_kg=lot.checked_in_kg,
                mismatches=lot.checked_in_mismatches,
            )
            for lot in s2.lots
            if lot.lot_id not in given and lot.checked_in_kg is not None
        ]
        received = md.receive(s2, weighed, tdata.within_tolerance, cmd.notes)
        events.append(received)
        s3 = md.evolve(s2, received, at, s.manifest_id)
        if received.discrepancy:
            arrival = situation(session, ctx, s3, Step.receipt, at, arriving=True)
            return Outcome(events, [], _check(arrival), Step.receipt)
        decisions = [
            _decision(
                s3,
                lot.lot_id,
                ReceiptOutcome.accepted,
                None,
                cmd.method_codes.get(lot.line_no) or s3.line(lot.line_no).planned_method,
            )
            for lot in s3.lots
        ]
        confirmed = md.confirm_receipt(s3, decisions, notes=cmd.notes)
        sit = situation(
            session,
            ctx,
            s3,
            Step.receipt,
            at,
            arriving=True,
            confirming=True,
            decisions=tuple((d.lot_id, d.outcome.value, d.method_code) for d in decisions),
        )
        events.append(confirmed)
        return Outcome(events, _decisions_events(s3, decisions), _check(sit), Step.receipt)

    return _act(session, ctx, actor, manifest_id, cmd, {Party.handler}, "receive", decide)


def confirm(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestConfirm,
) -> schemas.ManifestCommandResult:
    """The handler decides on each lot (accept, partly accept, reject): resolves a discrepancy
    (which needs the consignor told and the receiving-area EEB report reference)."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        decisions = [
            _decision(s, d.lot_id, d.outcome, d.accepted_kg, d.method_code) for d in cmd.lots
        ]
        event = md.confirm_receipt(
            s, decisions, cmd.consignor_notified_at, cmd.eeb_report_ref, cmd.notes
        )
        sit = situation(
            session,
            ctx,
            s,
            Step.receipt,
            at,
            confirming=True,
            decisions=tuple((d.lot_id, d.outcome.value, d.method_code) for d in decisions),
            resolution={
                "consignor_notified_at": cmd.consignor_notified_at,
                "eeb_report_ref": cmd.eeb_report_ref,
            },
        )
        return Outcome([event], _decisions_events(s, decisions), _check(sit), Step.receipt)

    return _act(session, ctx, actor, manifest_id, cmd, {Party.handler}, "confirm", decide)


def return_lots(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestReturn,
) -> schemas.ManifestCommandResult:
    """Rejected lots come back to the consignor's inventory, into one of its zones (the storage
    rules check the zone as at any storage-in)."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        event = md.return_lots(s, cmd.lot_ids, cmd.reason)
        zone = session.get(ZoneRow, cmd.zone_id)
        if zone is None or zone.site_id != s.site_id:
            raise InvalidInput("no such zone at the consignor site", field="zone_id")
        findings: list[Finding] = []
        lot_events: list[tuple[UUID, Callable[[LotState], list[Event]]]] = []
        for lot_id in cmd.lot_ids:
            row = session.get(LotRow, lot_id)
            assert row is not None
            lot = lot_state_of(row)
            ret = lot_domain.return_to_consignor(lot, cmd.reason)
            back = lot_domain.evolve(lot, ret, at, lot_id)
            findings += rule_service.check_storage(
                session=session, ctx=ctx, lot=back, zone_id=cmd.zone_id, at=at
            )

            def decide_lot(ls: LotState, reason: str = cmd.reason) -> list[Event]:
                r = lot_domain.return_to_consignor(ls, reason)
                after = lot_domain.evolve(ls, r, at, ls.lot_id)
                return [r, lot_domain.store(after, cmd.zone_id)]

            lot_events.append((lot_id, decide_lot))
        return Outcome([event], lot_events, findings, Step.storage_in)

    return _act(session, ctx, actor, manifest_id, cmd, CONSIGNOR, "return lots of", decide)


def dispose(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestDispose,
) -> schemas.ManifestCommandResult:
    """The handler records the utilisation/disposal method and completion date per lot."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        done = [
            md.CompletedLot(
                lot_id=c.lot_id,
                method_code=c.method_code.strip().upper(),
                completed_on=c.completed_on,
            )
            for c in cmd.lots
        ]
        for c in done:
            if c.completed_on > china_day(at):
                raise InvalidInput("completed_on is in the future", lot_id=str(c.lot_id))
        event = md.record_disposal(s, done)
        sit = situation(
            session,
            ctx,
            s,
            Step.disposal,
            at,
            disposal=tuple((c.lot_id, c.method_code) for c in done),
        )
        lots = [
            (c.lot_id, lambda ls, c=c: [lot_domain.complete(ls, c.method_code, c.completed_on)])
            for c in done
        ]
        return Outcome([event], lots, _check(sit), Step.disposal)  # type: ignore[arg-type]

    return _act(
        session, ctx, actor, manifest_id, cmd, {Party.handler}, "record disposal for", decide
    )


def record_track(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestTrack,
) -> schemas.ManifestCommandResult:
    """The carrier (or the consignor, from the carrier's platform) attaches the trip's GPS
    fixes; R49 reads them when the load arrives."""
    latest = ctx.clock.now() + CLOCK_SKEW

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        points = [md.TrackPoint(at=p.at.astimezone(UTC), lat=p.lat, lon=p.lon) for p in cmd.points]
        for i, p in enumerate(points):
            if p.at > latest:
                raise InvalidInput("a GPS fix is in the future", field=f"points[{i}].at")
        return Outcome([md.record_track(s, points, cmd.terminal_id)], [], [])

    return _act(
        session,
        ctx,
        actor,
        manifest_id,
        cmd,
        {Party.carrier, Party.consignor},
        "attach a GPS track to",
        decide,
    )


def track(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    events: Sequence[EventRead] | None = None,
) -> schemas.TrackRead:
    """Every fix uploaded for the trip, in time order, and how far the last is from the gate.
    `events`: the manifest's stream, when the caller has already read it."""
    _, s, _ = _load(session, actor, manifest_id)
    rows = events
    if rows is None:
        rows = manifest_events(session=session, ctx=ctx, actor=actor, manifest_id=manifest_id)
    points = sorted(
        (
            md.TrackPoint.model_validate(p)
            for row in rows
            if row.type == md.ManifestTrackRecorded.TYPE
            for p in row.payload["points"]
        ),
        key=lambda p: p.at,
    )
    lic = _licence(session, s.handler_licence_id)
    fence = load_transfer_data().geofence_m
    far = lic.facility_distance_m(points[-1].lat, points[-1].lon) if lic and points else None
    metres = None if far is None else round(far)
    return schemas.TrackRead(
        manifest_id=manifest_id,
        points=points,
        terminal_ids=s.track.terminal_ids if s.track else [],
        facility_lat=lic.facility_lat if lic else None,
        facility_lon=lic.facility_lon if lic else None,
        end_distance_m=metres,
        geofence_m=fence,
        within_geofence=None if metres is None else metres <= fence,
    )


def close(
    *, session: Session, ctx: AppContext, actor: Principal, manifest_id: UUID, cmd: schemas.Action
) -> schemas.ManifestCommandResult:
    """The consignor has the disposal result: the manifest is closed (Art. 10(5))."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        event = md.close(s)
        sit = situation(session, ctx, s, Step.disposal, at, closing=True)
        return Outcome([event], [], _check(sit), Step.disposal)

    return _act(session, ctx, actor, manifest_id, cmd, CONSIGNOR, "close", decide)


def cancel(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.ManifestCancel,
) -> schemas.ManifestCommandResult:
    """Cancel before loading: the lots go back to their zones' stock."""

    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        event = md.cancel(s, cmd.reason)
        lots = [
            (lot.lot_id, lambda ls, r=cmd.reason: [lot_domain.deallocate(ls, f"联单作废：{r}")])
            for lot in s.lots
        ]
        return Outcome([event], lots, [])  # type: ignore[arg-type]

    return _act(session, ctx, actor, manifest_id, cmd, CONSIGNOR, "cancel", decide)


NAMED = {Party.consignor, Party.carrier, Party.handler}


def request_correction(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    cmd: schemas.CorrectionRequest,
) -> schemas.ManifestCommandResult:
    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        changes = dict(cmd.changes)
        if "planned_date" in changes:
            try:
                changes["planned_date"] = date.fromisoformat(
                    str(changes["planned_date"])
                ).isoformat()
            except ValueError as exc:
                raise InvalidInput("planned_date is not a date", field="changes") from exc
        return Outcome([md.request_correction(s, uuid4(), party, changes, cmd.reason)], [], [])

    return _act(session, ctx, actor, manifest_id, cmd, NAMED, "correct", decide)


def decide_correction(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    manifest_id: UUID,
    correction_id: UUID,
    cmd: schemas.CorrectionDecision,
) -> schemas.ManifestCommandResult:
    def decide(s: ManifestState, party: Party, at: datetime) -> Outcome:
        return Outcome(
            [md.decide_correction(s, correction_id, party, cmd.approve, cmd.note)], [], []
        )

    return _act(session, ctx, actor, manifest_id, cmd, NAMED, "approve corrections of", decide)


# ---------------------------------------------------------------- queries


def scope_filter(actor: Principal) -> sa.ColumnElement[bool]:
    """SQL form of `manifest_party`: the manifests the actor may see."""
    submitted = ManifestRow.submitted_at.is_not(None)  # type: ignore[union-attr]
    if actor.role is Role.handler:
        return sa.and_(ManifestRow.handler_enterprise_id == actor.enterprise_id, submitted)
    if actor.role is Role.transporter:
        return sa.and_(ManifestRow.carrier_enterprise_id == actor.enterprise_id, submitted)
    return ManifestRow.site_id.in_(actor.site_ids)  # type: ignore[attr-defined,no-any-return]


def get_manifest(*, session: Session, actor: Principal, manifest_id: UUID) -> schemas.ManifestRead:
    _, s, party = _load(session, actor, manifest_id)
    return manifest_read(session, s, party)


def lot_manifest(
    *, session: Session, actor: Principal, lot: LotState
) -> tuple[ManifestState, str] | None:
    """The manifest a lot is on and the actor's party on it, when the actor is a party."""
    row = session.get(ManifestRow, lot.manifest_id) if lot.manifest_id else None
    if row is None:
        return None
    s = state_of(row)
    party = _party_of(actor, s)
    return (s, party) if party is not None else None


def manifest_state(*, session: Session, actor: Principal, manifest_id: UUID) -> ManifestState:
    return _load(session, actor, manifest_id)[1]


# ---------------------------------------------------------------- roadside check

# The manifest PDF carries a link for a roadside check (路检核验): a traffic-police or
# environmental inspector scans it with a phone and sees, without an account, whether the paper
# is genuine and what the system says now (in transit, or received days ago). The link names
# the manifest number and a MAC of the number and the manifest's id, so it cannot be made up
# for another manifest, nor does a paper outlive the manifest it was printed from (a database
# restored elsewhere, a demo reseeded). It does not expire: the paper travels as long as the
# trip lasts.
ROADSIDE_PURPOSE = "roadside-check-v1"
ROADSIDE_PATH = "/check/"
_ROADSIDE_MAC_BYTES = 10  # 80 bits, 16 base32 characters
_ROADSIDE_TOKEN = re.compile(r"(\d{14})-([a-z2-7]{16})")
_ROADSIDE_URL = re.compile(r"/CHECK/(\d{14})-[A-Z2-7]{16}$")


def roadside_token(ctx: AppContext, number: str, manifest_id: UUID) -> str:
    mac = ctx.keys.mac(ROADSIDE_PURPOSE, f"{number}:{manifest_id}".encode())
    return f"{number}-{base64.b32encode(mac[:_ROADSIDE_MAC_BYTES]).decode().lower()}"


def roadside_url(ctx: AppContext, base_url: str, number: str, manifest_id: UUID) -> str:
    """The roadside-check link of a manifest, under `PUBLIC_URL` when configured (the address
    phones outside the plant reach), else under the address the request came in on."""
    base = (ctx.settings.public_url or base_url).rstrip("/")
    return f"{base}{ROADSIDE_PATH}{roadside_token(ctx, number, manifest_id)}"


def roadside_number(text: str) -> str | None:
    """The manifest number in a scanned roadside-check link (handheld scans are upper-cased)."""
    found = _ROADSIDE_URL.search(text)
    return found.group(1) if found else None


def roadside_manifest(*, session: Session, ctx: AppContext, token: str) -> ManifestState:
    """The manifest a roadside-check token names; any other token is "not valid", whether
    its number exists or not."""
    invalid = NotFound(
        "this check link is not valid: it was not issued by this system or was mistyped"
    )
    found = _ROADSIDE_TOKEN.fullmatch(token.strip().lower())
    if found is None:
        raise invalid
    row = session.exec(select(ManifestRow).where(ManifestRow.number == found.group(1))).first()
    if row is None:
        raise invalid
    s = state_of(row)
    if not hmac.compare_digest(roadside_token(ctx, s.number, s.manifest_id), found.group(0)):
        raise invalid
    return s


def list_manifests(
    *,
    session: Session,
    actor: Principal,
    status: list[ManifestStatus] | None = None,
    site_id: UUID | None = None,
    number: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> schemas.ManifestPage:
    conds = [scope_filter(actor)]
    if status:
        conds.append(ManifestRow.status.in_([s.value for s in status]))  # type: ignore[attr-defined]
    if site_id is not None:
        conds.append(ManifestRow.site_id == site_id)  # type: ignore[arg-type]
    if number:
        conds.append(ManifestRow.number.like(f"{number.strip()}%"))  # type: ignore[attr-defined]
    where = sa.and_(*conds)
    total = session.exec(select(sa.func.count()).select_from(ManifestRow).where(where)).one()
    rows = session.exec(
        select(ManifestRow)
        .where(where)
        .order_by(ManifestRow.created_at.desc(), ManifestRow.manifest_id)  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset)
    )
    return schemas.ManifestPage(
        items=[schemas.ManifestSummary.model_validate(r) for r in rows],
        total=int(total),
        limit=limit,
        offset=offset,
    )


def manifest_events(
    *, session: Session, ctx: AppContext, actor: Principal, manifest_id: UUID
) -> list[EventRead]:
    _load(session, actor, manifest_id)
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    return [_event_read(r) for r in store.load_stream(manifest_id)]


def alerts(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site_id: UUID | None = None,
    manifest_id: UUID | None = None,
) -> list[schemas.ManifestAlert]:
    """Receipts not confirmed within 5 working days (R50), vehicles on the road too long
    (R49), manifests open too long (R56), open discrepancies (R51), paper back-entries not yet
    filed (R53) and pending corrections; of one consigning site if `site_id` is given, of one
    manifest if `manifest_id` is."""
    tdata = load_transfer_data()
    now = ctx.clock.now()
    today = china_day(now)
    out: list[schemas.ManifestAlert] = []
    conds = [
        scope_filter(actor),
        ManifestRow.status.not_in(["closed", "cancelled"]),  # type: ignore[attr-defined]
    ]
    if site_id is not None:
        conds.append(ManifestRow.site_id == site_id)  # type: ignore[arg-type]
    if manifest_id is not None:
        conds.append(ManifestRow.manifest_id == manifest_id)  # type: ignore[arg-type]
    rules = rules_by_id()

    def alert(
        row: ManifestRow, rule_id: str, severity: str, zh: str, en: str, due_on: date | None = None
    ) -> None:
        rule = rules.get(rule_id)
        out.append(
            schemas.ManifestAlert(
                manifest_id=row.manifest_id,
                number=row.number,
                rule_id=rule_id,
                severity=severity,
                message_zh=zh,
                message_en=en,
                due_on=due_on,
                citation=rule.citation.as_dict() if rule else None,
            )
        )

    for row in session.exec(select(ManifestRow).where(*conds)):
        n = row.number
        if row.received_at is not None and row.confirmed_at is None:
            due = receipt_due(tdata, row.received_at)
            if today > due:  # raised only once the deadline has passed
                alert(
                    row,
                    "R50",
                    "block",
                    f"联单 {n} 接收后超过5个工作日未确认（应于 {due} 前）",
                    f"manifest {n}: receipt not confirmed within 5 working days (due {due})",
                    due,
                )
        paper = row.state.get("paper")
        if paper and row.status == ManifestStatus.draft.value:
            due = paper_backentry_due(tdata, date.fromisoformat(paper["completed_on"]))
            alert(
                row,
                "R53",
                "warn" if today > due else "info",
                f"纸质联单 {paper['paper_number']} 补录未完成，联单尚未提交（应于 {due} 前补录）",
                f"paper manifest {paper['paper_number']}: the back-entry is not filed yet "
                f"(due by {due})",
                due,
            )
        overdue = transit_overdue_hours(tdata, row.status, row.dispatched_at, now)
        if overdue is not None:
            limit = tdata.transit_overdue_hours
            alert(
                row,
                "R49",
                "warn",
                f"联单 {n} 启运 {overdue} 小时仍未到达接受人（超过 {limit} 小时），"
                "请联系承运人核实车辆位置",
                f"manifest {n}: on the road for {overdue} h without arriving at the receiver "
                f"(over {limit} h): check with the carrier where the vehicle is",
            )
        if row.discrepancy_open:
            alert(
                row,
                "R51",
                "block",
                f"联单 {n} 存在未处理的差异",
                f"manifest {n} has an open discrepancy",
            )
        age = (now - row.created_at).days
        if age > tdata.open_manifest_days:
            alert(
                row,
                "R56",
                "warn",
                f"联单 {n} 开出 {age} 天仍未闭环",
                f"manifest {n} still open after {age} days",
            )
        if row.pending_corrections:
            alert(
                row,
                "correction",
                "info",
                f"联单 {n} 有待确认的更正",
                f"manifest {n} has a correction awaiting approval",
            )
    return out


def stored_event(session: Session, event_id: UUID) -> StoredEvent | None:
    return session.get(StoredEvent, event_id)


__all__ = ["PHYSICAL_FORM_ZH"]
