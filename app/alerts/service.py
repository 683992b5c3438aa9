"""The storage sweep and the alert list.

`sweep` looks at the projections (never the log): lots approaching or past the storage-time
limits (R32/R33; a lot within an approved storage extension is neither), lots overstaying at a
storage spot (R34), zones whose inspection is overdue (R35) or that are nearly full, lots still
unlabelled, containers awaiting repack, periodic declarations due or overdue (R60). It raises
the alerts that are new and clears those whose condition went away, as events on each site's
`alerts` stream, under the site's chain lock (two servers sweeping at once raise each alert
once).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit import service as audit_service
from app.context import AppContext
from app.domain import alerts as alert_domain
from app.domain.alerts import Alert
from app.domain.lot import LotStatus
from app.domain.rules.base import Finding, Severity, Situation, Step
from app.domain.rules.integrity import IntegritySituation
from app.domain.rules.registry import evaluate
from app.domain.values import ContainerCondition, Role, WasteKind
from app.eventstore.store import EventStore
from app.exports import service as export_service
from app.identity.models import Site
from app.identity.permissions import Principal
from app.projections.alerts import AlertRow
from app.projections.lots import LotRow, ZoneInventoryRow, managed_hazardous, state_of
from app.projections.zones import ZoneRow
from app.projections.zones import state_of as zone_state_of
from app.rules import service as rule_service
from app.services.recorder import Recorder

ALERTS_NAMESPACE = uuid5(UUID(int=0), "hazchain-alerts")
ON_SITE = [
    s.value
    for s in (
        LotStatus.generated,
        LotStatus.labelled,
        LotStatus.stored,
        LotStatus.allocated,
        LotStatus.rejected,
    )
]
CONDITION_ZH = {"damaged": "破损", "leaking": "渗漏", "deformed": "变形"}
KIND_OF_RULE = {
    "R32": "storage_duration",
    "R33": "storage_duration",
    "R34": "spot_clearance",
    "R35": "inspection_overdue",
}


@dataclass(frozen=True)
class SweepResult:
    raised: int
    cleared: int
    open: int


def _from_finding(
    f: Finding, subject_type: str, subject_id: UUID, zone_id: UUID | None, lot_ids: tuple[UUID, ...]
) -> Alert:
    level = "past" if f.values.get("age_days", 0) >= f.values.get("limit_days", 10**9) else "due"
    return Alert(
        key=f"{f.rule_id}:{level}:{subject_id}",
        kind=KIND_OF_RULE[f.rule_id],
        rule_id=f.rule_id,
        severity=f.severity.value,
        subject_type=subject_type,
        subject_id=subject_id,
        message_zh=f.message_zh,
        message_en=f.message_en,
        citation=f.citation,
        zone_id=zone_id,
        lot_ids=lot_ids,
        values=f.values,
    )


def _site_alert(f: Finding, key: str, kind: str, site_id: UUID) -> Alert:
    """A finding about the site as a whole (its declarations, its chain) as an alert."""
    return Alert(
        key=key,
        kind=kind,
        rule_id=f.rule_id,
        severity=f.severity.value,
        subject_type="site",
        subject_id=site_id,
        message_zh=f.message_zh,
        message_en=f.message_en,
        citation=f.citation,
        values=dict(f.values),
    )


def current_alerts(session: Session, ctx: AppContext, site_id: UUID, now: datetime) -> list[Alert]:
    data = rule_service.rule_data(ctx)
    site = rule_service.site_profile(session, site_id)
    zones = {z.zone_id: z for z in session.exec(select(ZoneRow).where(ZoneRow.site_id == site_id))}
    views = {zid: rule_service.zone_view(session, zone_state_of(z)) for zid, z in zones.items()}
    spot_zones = [zid for zid, v in views.items() if v.facility_type == "storage_spot"]
    out: list[Alert] = []

    # Lots: only those old enough to matter, or sitting at a storage spot.
    warn_days = min(data.storage_days())
    cutoff = now - timedelta(days=warn_days)
    q = select(LotRow).where(
        LotRow.site_id == site_id,
        LotRow.status.in_(ON_SITE),  # type: ignore[attr-defined]
        sa.or_(
            LotRow.generated_at <= cutoff,  # type: ignore[arg-type]
            LotRow.zone_id.in_(spot_zones),
        ),  # type: ignore[union-attr]
    )
    for row in session.exec(q):
        lot = state_of(row)
        s = Situation(
            step=Step.storage_duration,
            lot=lot,
            now=now,
            site=site,
            catalogue=ctx.catalogue,
            data=data,
            zone=views.get(lot.zone_id) if lot.zone_id else None,
        )
        for f in evaluate(s):
            if f.severity is Severity.info:
                continue  # a fact, not a condition: e.g. R32/R33 within an approved extension
            out.append(_from_finding(f, "lot", lot.lot_id, lot.zone_id, (lot.lot_id,)))

    # Unlabelled hazardous lots, and containers awaiting repack.
    hours = int(data.param("storage", "unlabelled_alert_hours"))
    for row in session.exec(
        select(LotRow).where(
            LotRow.site_id == site_id,
            LotRow.status == LotStatus.generated.value,
            managed_hazardous(),  # an exempt lot needs no label (R61)
            LotRow.generated_at <= now - timedelta(hours=hours),
        )
    ):  # type: ignore[arg-type]
        out.append(
            Alert(
                key=f"R09:unlabelled:{row.lot_id}",
                kind="unlabelled",
                rule_id="R09",
                severity="warn",
                subject_type="lot",
                subject_id=row.lot_id,
                message_zh=f"{row.name} 产生已超过 {hours} 小时仍未粘贴标签",
                message_en=f"{row.name} has had no label for more than {hours} hours",
                citation={
                    "document": "固废法 (2020)",
                    "clause": "Art. 77; GB 18597 4.6",
                    "confidence": "TEXT",
                },
                lot_ids=(row.lot_id,),
            )
        )
    for row in session.exec(
        select(LotRow).where(
            LotRow.site_id == site_id,
            LotRow.status.in_(ON_SITE),  # type: ignore[attr-defined]
            LotRow.condition != ContainerCondition.intact.value,
        )
    ):  # type: ignore[arg-type]
        out.append(
            Alert(
                key=f"R25:repack:{row.lot_id}",
                kind="needs_repack",
                rule_id="R25",
                severity="warn",
                subject_type="lot",
                subject_id=row.lot_id,
                zone_id=row.zone_id,
                message_zh=f"{row.name} 容器{CONDITION_ZH[row.condition]}，须更换包装",
                message_en=f"{row.name}: container {row.condition}, repack it",
                citation={
                    "document": "GB 18597-2023",
                    "clause": "7.3, 7.4, 8.2.2",
                    "confidence": "3P",
                },
                lot_ids=(row.lot_id,),
            )
        )

    # The site's periodic declarations (R60): due within the warning days, or overdue.
    site_row = session.get(Site, site_id)
    if site_row is not None:
        for f in evaluate(export_service.reporting_situation(session, site_row, now)):  # type: ignore[arg-type]
            key = f"R60:{f.values['level']}:{f.values['period']}:{site_id}"
            out.append(_site_alert(f, key, "declaration_due", site_id))

    # The site's chain and the change trail, as the last recorded verification run found them
    # (H02, H03).
    seen = IntegritySituation(
        Step.integrity,
        now,
        audit_service.broken_link_seen(session, site_id),
        audit_service.trail_break_seen(session),
    )
    for f in evaluate(seen):  # type: ignore[arg-type]
        what = "chain" if f.rule_id == "H02" else "trail"
        out.append(_site_alert(f, f"{f.rule_id}:{what}:{site_id}", "chain_broken", site_id))

    # Zones: inspections (hazardous zones) and fill level.
    totals: dict[UUID, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    for inv in session.exec(
        select(ZoneInventoryRow).where(ZoneInventoryRow.zone_id.in_(list(zones)))
    ):  # type: ignore[attr-defined]
        t = totals[inv.zone_id]
        t[0] += inv.lot_count
        t[1] += inv.weight_kg
        t[2] += inv.volume_l
    ratio = Decimal(str(data.param("storage", "zone_capacity_warn_ratio")))
    for zid, z in zones.items():
        view = views[zid]
        if z.kind == WasteKind.hazardous.value:
            s = Situation(
                step=Step.storage_duration,
                lot=None,
                now=now,
                site=site,
                catalogue=ctx.catalogue,
                data=data,
                zone=view,
                last_zone_inspection=z.last_inspected_at,
            )
            for f in evaluate(s):
                out.append(_from_finding(f, "zone", zid, zid, ()))
        count, kg, litres = totals[zid]
        for used, cap, unit in ((kg, z.capacity_kg, "kg"), (litres, z.capacity_l, "L")):
            if cap and used >= cap * ratio:
                full = used >= cap
                out.append(
                    Alert(
                        key=f"H01:{'full' if full else 'near'}:{unit}:{zid}",
                        kind="zone_capacity",
                        rule_id="H01",
                        severity="warn",
                        subject_type="zone",
                        subject_id=zid,
                        zone_id=zid,
                        message_zh=f"{z.code} 区已存 {used} {unit}，达设计容量 {cap} {unit} 的 "
                        f"{(used / cap * 100).quantize(Decimal('1'))}%",
                        message_en=f"zone {z.code} holds {used} {unit}, "
                        f"{(used / cap * 100).quantize(Decimal('1'))}% of its {cap} {unit}",
                        citation={
                            "document": "hazchain",
                            "clause": "zone capacity",
                            "confidence": "POLICY",
                        },
                        values={"used": str(used), "capacity": str(cap), "lots": int(count)},
                    )
                )
    return out


def sweep(
    *,
    session: Session,
    ctx: AppContext,
    now: datetime | None = None,
    site_ids: list[UUID] | None = None,
) -> SweepResult:
    now = now or ctx.clock.now()
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    recorder = Recorder(session, ctx)
    raised = cleared = still_open = 0
    sites = site_ids if site_ids is not None else list(session.exec(select(Site.id)))
    for site_id in sites:
        store.lock(site_id)
        current = current_alerts(session, ctx, site_id, now)
        open_keys = set(
            session.exec(
                select(AlertRow.key).where(
                    AlertRow.site_id == site_id, AlertRow.cleared_at.is_(None)
                )
            )
        )  # type: ignore[union-attr]
        events = alert_domain.changes(current, open_keys)
        if events:
            stream = uuid5(ALERTS_NAMESPACE, str(site_id))
            recorder.record(
                actor=None,
                site_id=site_id,
                stream_type="alerts",
                stream_id=stream,
                expected_version=store.stream_version(stream),
                event_id=uuid4(),
                occurred_at=now,
                events=events,
                rule_set_version=rule_service.rule_data(ctx).version,
            )
        n_raised = sum(1 for e in events if isinstance(e, alert_domain.AlertRaised))
        raised += n_raised
        cleared += len(events) - n_raised
        still_open += len(current)
    return SweepResult(raised=raised, cleared=cleared, open=still_open)


def list_alerts(
    *,
    session: Session,
    actor: Principal,
    site_id: UUID | None = None,
    kind: str | None = None,
    include_cleared: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> tuple[int, list[AlertRow]]:
    scope = list(actor.site_ids) if actor.role is not Role.admin else None
    q = select(AlertRow)
    if scope is not None:
        q = q.where(AlertRow.site_id.in_(scope))  # type: ignore[attr-defined]
    if site_id is not None:
        q = q.where(AlertRow.site_id == site_id)
    if kind:
        q = q.where(AlertRow.kind == kind)
    if not include_cleared:
        q = q.where(AlertRow.cleared_at.is_(None))  # type: ignore[union-attr]
    total = session.exec(select(sa.func.count()).select_from(q.subquery())).one()
    order = [sa.case((AlertRow.severity == "block", 0), else_=1), AlertRow.raised_at.desc()]  # type: ignore[attr-defined]
    rows = list(session.exec(q.order_by(*order).limit(limit).offset(offset)))
    return int(total), rows
