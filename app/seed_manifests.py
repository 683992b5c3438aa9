"""The demo plant's transfers: a licensed handler, a carrier with its vehicle and crew,
contracts, yearly management plans, and real manifests through the manifest services — one
trip a month per site, the last days' manifests left in every state (draft, submitted, loaded,
in transit, received with an open discrepancy, received and confirmed with a lot rejected,
disposed, cancelled).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4, uuid5

import sqlalchemy as sa
from sqlmodel import Session, select

from app.context import AppContext
from app.domain.values import CHINA_TZ
from app.exports import schemas as es
from app.exports import service as exports
from app.identity.permissions import Principal
from app.manifests import schemas as ms
from app.manifests import service as manifests
from app.parties import schemas as ps
from app.parties import service as party_service
from app.projections.lots import LotRow
from app.projections.manifests import ManifestRow

# waste code -> (planned method, UN number, DG class)
METHOD = {
    "HW02": ("D10", "UN3077", "9"),
    "271-002-02": ("D10", "UN3082", "9"),
    "HW06": ("R2", "UN1993", "3"),
    "HW34": ("D9", "UN3264", "8"),
    "HW35": ("D9", "UN3266", "8"),
    "HW49": ("D10", "UN3077", "9"),
    "900-047-49": ("D10", "UN3082", "9"),
    "900-041-49": ("C3", "UN3077", "9"),
    "HW50": ("R8", "UN3077", "9"),
}
# where the trips start (the plants' gates) and end (the handler's gate), WGS-84
GATE = {"SZ01": (Decimal("31.318000"), Decimal("120.721000"))}
GATE["TZ02"] = (Decimal("32.455000"), Decimal("119.923000"))
HANDLER_GATE = (Decimal("31.238400"), Decimal("120.673500"))
EMERGENCY = (
    "泄漏时穿戴防护用品，用吸附棉围堵并收集至应急桶；起火时用干粉灭火器，疏散人员并拨打 119 "
    "及企业应急电话 0512-6288 0000。"
)


def _method(code: str) -> tuple[str, str, str]:
    return METHOD.get(code) or METHOD[f"HW{code[-2:]}"]


def parties(session: Session, ctx: AppContext, plant: Any, start: datetime, now: datetime) -> None:
    """Licences, vehicle, crew, contracts and plans, valid over the whole demo year."""
    admin: Principal = plant.users["admin"]
    handler, carrier, owner = (plant.enterprises[k] for k in ("handler", "carrier", "plant"))
    d0, d1 = start.date(), now.date()

    def create(entity: str, cmd: Any) -> UUID:
        row = party_service.create(session=session, ctx=ctx, actor=admin, entity=entity, cmd=cmd)
        return row.id  # type: ignore[attr-defined,no-any-return]

    plant.parties["licence"] = create(
        "handler_licence",
        ps.HandlerLicenceCreate(
            enterprise_id=handler,
            licence_no="JSSZ0506OOD001-3",
            kind="comprehensive",  # type: ignore[arg-type]
            division_code="320506",
            facility_address="苏州市吴中区固废处置园 8 号",
            facility_lat=HANDLER_GATE[0],
            facility_lon=HANDLER_GATE[1],
            issuer="江苏省生态环境厅",
            valid_from=d0 - timedelta(days=700),
            valid_to=d1 + timedelta(days=1100),
            items=[
                ps.LicenceItemIn(category="HW02", methods=["D10"], annual_capacity_t=Decimal(2000)),
                ps.LicenceItemIn(
                    category="HW06", methods=["R2", "D10"], annual_capacity_t=Decimal(3000)
                ),
                ps.LicenceItemIn(category="HW34", methods=["D9"], annual_capacity_t=Decimal(1500)),
                ps.LicenceItemIn(category="HW35", methods=["D9"], annual_capacity_t=Decimal(1500)),
                ps.LicenceItemIn(
                    category="HW49", methods=["D10", "C3", "R15"], annual_capacity_t=Decimal(5000)
                ),
                ps.LicenceItemIn(category="HW50", methods=["R8"], annual_capacity_t=Decimal(300)),
            ],
        ),
    )
    create(
        "carrier_licence",
        ps.CarrierLicenceCreate(
            enterprise_id=carrier,
            licence_no="苏交运管许可苏字320500001234号",
            dg_classes=["3", "6.1", "8", "9"],
            valid_from=d0 - timedelta(days=400),
            valid_to=d1 + timedelta(days=900),
        ),
    )
    plant.parties["vehicle"] = create(
        "vehicle",
        ps.VehicleCreate(
            enterprise_id=carrier,
            plate="苏E·D1234",
            transport_cert_no="苏交运管苏字320500012345号",
            vehicle_type="dg_van",  # type: ignore[arg-type]
            dg_classes=["3", "6.1", "8", "9"],
            valid_to=d1 + timedelta(days=500),
            gps_terminal_id="BD-320500-88123",
        ),
    )
    for role, name, no in [
        ("driver", "周建国", "320500199001010011"),
        ("escort", "吴立新", "320500199202020022"),
    ]:
        plant.parties[role] = create(
            "crew",
            ps.CrewCreate(
                enterprise_id=carrier,
                name=name,
                role=role,  # type: ignore[arg-type]
                qualification_no=no,
                valid_to=d1 + timedelta(days=800),
                phone="139 1234 5678",
            ),
        )
    for kind, party, no in [
        ("handler", handler, "HT-CZ-2025-018"),
        ("carrier", carrier, "HT-YS-2025-007"),
    ]:
        create(
            "contract",
            ps.ContractCreate(
                consignor_enterprise_id=owner,
                counterparty_enterprise_id=party,
                kind=kind,  # type: ignore[arg-type]
                contract_no=no,
                valid_from=d0 - timedelta(days=30),
                valid_to=d1 + timedelta(days=365),
            ),
        )
    codes = [
        "271-001-02", "271-002-02", "271-003-02", "271-006-50", "900-039-49",
        "900-041-49", "900-047-49", "900-349-34", "900-399-35", "900-402-06",
    ]  # fmt: skip
    for site_code, site_id in plant.site_ids.items():
        for year in range(d0.year, d1.year + 1):
            create(
                "plan",
                ps.PlanCreate(
                    site_id=site_id,
                    year=year,
                    filing_no=f"{site_code}-{year}-HWGLJH",
                    filed_on=date(year, 3, 10),
                    items=[
                        ps.PlanItemIn(
                            waste_code=c,
                            handler_enterprise_id=handler,
                            method=_method(c)[0],
                            planned_t=Decimal(30),
                        )
                        for c in codes
                    ],
                ),
            )


def _stored(session: Session, site_id: UUID, before: datetime, limit: int) -> list[LotRow]:
    return list(
        session.exec(
            select(LotRow)
            .where(
                LotRow.site_id == site_id,
                LotRow.status == "stored",
                LotRow.kind == "hazardous",
                LotRow.generated_at < before,
            )
            .order_by(LotRow.generated_at)  # type: ignore[arg-type]
            .limit(limit)
        )
    )


Action = Callable[[Session, AppContext, datetime], None]


def _tick(ctx: AppContext, at: datetime) -> None:
    """Move the seed's stepping clock to `at` (a device clock never runs ahead of it)."""
    clock = ctx.clock
    if hasattr(clock, "at") and clock.at < at + timedelta(minutes=2):
        clock.at = at + timedelta(minutes=2)


def _env(m: Any) -> dict[str, Any]:
    return {"event_id": uuid4(), "expected_version": m.version}


def _track(
    session: Session,
    ctx: AppContext,
    plant: Any,
    site: str,
    m: Any,
    start: datetime,
    end: datetime,
    rng: random.Random,
) -> Any:
    """The vehicle terminal's fixes every 5 minutes from the plant's gate towards the handler's,
    arriving at `end` of a two-hour trip (or part of the way there when `end` is earlier)."""
    (a_lat, a_lon), (b_lat, b_lon) = GATE[site], HANDLER_GATE
    d_lat, d_lon = float(b_lat - a_lat), float(b_lon - a_lon)
    trip = timedelta(hours=2)
    points = []
    at = start
    while at <= end:
        f = min(1.0, (at - start) / trip)
        # roads are not straight: bow out sideways by up to 15 % of the trip, plus GPS noise
        bow = 0.15 * math.sin(f * math.pi) * (1 if site == "SZ01" else -1)
        jitter = rng.uniform(-0.0002, 0.0002)
        lat = a_lat + Decimal(d_lat * f - d_lon * bow + jitter)
        lon = a_lon + Decimal(d_lon * f + d_lat * bow + jitter)
        points.append(ms.TrackPointIn(at=at, lat=lat, lon=lon))
        at += timedelta(minutes=5)
    return manifests.record_track(
        session=session,
        ctx=ctx,
        actor=plant.users["transporter"],
        manifest_id=m.manifest_id,
        cmd=ms.ManifestTrack(
            **_env(m), occurred_at=end, points=points, terminal_id="GPS-320500-0417"
        ),
    ).manifest


def _trip(
    plant: Any,
    site: str,
    stop: str,
    rng: random.Random,
    min_age_days: int,
    limit: int,
    paper: bool = False,
) -> Action:
    """One manifest of a site's stored lots, taken through the lifecycle up to `stop`:
    draft, submitted, loaded, in_transit, received (open discrepancy), confirmed (one lot
    rejected, not yet returned; the rest awaiting disposal), cancelled, disposed or closed.
    Later steps (disposal, closing) are scheduled by `plan` for closed trips. A `paper` trip
    ran on a paper manifest during a system outage and is entered the same day (R53)."""

    def run(session: Session, ctx: AppContext, when: datetime) -> None:
        lots = _stored(session, plant.site_ids[site], when - timedelta(days=min_age_days), limit)
        if not lots:
            return
        with session.begin_nested():
            _run_trip(session, ctx, plant, site, stop, rng, lots, when, paper)

    return run


def _run_trip(
    session: Session,
    ctx: AppContext,
    plant: Any,
    site: str,
    stop: str,
    rng: random.Random,
    lots: list[LotRow],
    when: datetime,
    paper: bool = False,
) -> None:
    u = plant.users
    consignor = u["operator"] if site == "SZ01" else u["ehs_manager"]
    by_code: dict[str, list[UUID]] = {}
    for lot in lots:
        by_code.setdefault(lot.waste_code or "", []).append(lot.lot_id)
    lines = []
    for code, ids in sorted(by_code.items()):
        method, un, dg = _method(code)
        lines.append(
            ms.LineIn(
                waste_code=code, lot_ids=ids, planned_method=method, un_number=un, dg_class=dg
            )
        )
    r = manifests.create_manifest(
        session=session,
        ctx=ctx,
        actor=u["ehs_manager"],
        cmd=ms.ManifestCreate(
            event_id=uuid4(),
            occurred_at=when,
            site_id=plant.site_ids[site],
            handler_enterprise_id=plant.enterprises["handler"],
            carrier_enterprise_id=plant.enterprises["carrier"],
            planned_date=when.date(),
            emergency_measures=EMERGENCY,
            route="G1522 常嘉高速 — 苏州绕城高速" if site == "SZ01" else "G2 京沪高速 — G1522",
            lines=lines,
            paper=ms.PaperFallbackIn(
                paper_number=f"苏固危联（纸）{when:%Y}-{rng.randint(100, 999)}",
                completed_on=(when + timedelta(hours=11)).date(),  # 12:30 China time
                reason="全国固体废物管理信息系统升级停机，先行使用纸质联单",
            )
            if paper
            else None,
        ),
    )
    m = r.manifest
    mid = m.manifest_id
    kw: dict[str, Any] = {"session": session, "ctx": ctx, "manifest_id": mid}
    if stop == "draft":
        return
    if stop == "cancelled":
        manifests.cancel(
            actor=u["ehs_manager"],
            cmd=ms.ManifestCancel(**_env(m), occurred_at=when, reason="承运车辆检修，改期转移"),
            **kw,
        )
        return
    m = manifests.submit(
        actor=u["ehs_manager"], cmd=ms.Action(**_env(m), occurred_at=when), **kw
    ).manifest
    if stop == "submitted":
        return
    t = when + timedelta(hours=1)
    _tick(ctx, t)
    m = manifests.load(
        actor=consignor,
        cmd=ms.ManifestLoad(
            **_env(m),
            occurred_at=t,
            scanned=[lot.digital_id or "" for lot in m.lots],
            vehicle_id=plant.parties["vehicle"],
            driver_id=plant.parties["driver"],
            escort_id=plant.parties["escort"],
            dg_waybill_no=f"YD{t:%Y%m%d}{rng.randint(100, 999)}",
        ),
        **kw,
    ).manifest
    if stop == "loaded":
        return
    code = manifests.issue_challenge(
        session=session,
        ctx=ctx,
        actor=u["transporter"],
        manifest_id=mid,
        cmd=ms.ChallengeCreate(step="dispatch"),  # type: ignore[arg-type]
    )
    m = manifests.dispatch(
        actor=consignor,
        cmd=ms.HandoverAction(**_env(m), occurred_at=t, counterpart_code=code.qr_payload),
        **kw,
    ).manifest
    t = when + timedelta(hours=3)
    if stop == "in_transit":
        _tick(ctx, t - timedelta(hours=1))
        _track(session, ctx, plant, site, m, t - timedelta(hours=2), t - timedelta(hours=1), rng)
        return
    _tick(ctx, t)
    if rng.random() < 0.9:  # now and then a carrier's platform sends nothing (R49 warns)
        m = _track(session, ctx, plant, site, m, t - timedelta(hours=2), t, rng)
    m = manifests.sign(
        actor=u["transporter"],
        cmd=ms.ManifestSign(**_env(m), occurred_at=t, step="receipt"),  # type: ignore[arg-type]
        **kw,
    ).manifest
    odd = stop in ("discrepancy", "confirmed") or (stop == "closed" and rng.random() < 0.15)
    received = []
    for i, lot in enumerate(m.lots):
        kg = lot.weight_kg
        if odd and i == 0:
            kg = (kg * Decimal("0.85")).quantize(Decimal("0.1"))
        elif rng.random() < 0.3:
            kg = kg + Decimal(rng.choice(["-0.2", "0.1", "0.3"]))
        received.append(ms.ReceivedLotIn(lot_id=lot.lot_id, received_kg=max(kg, Decimal(0))))
    m = manifests.receive(
        actor=u["handler"],
        cmd=ms.ManifestReceive(
            **_env(m),
            occurred_at=t,
            lots=received,
            notes="过磅复核" if odd else None,
        ),
        **kw,
    ).manifest
    if stop == "discrepancy" or not m.discrepancy_open:
        return
    # resolve the discrepancy the next morning: reject the light package, accept the rest
    t = when + timedelta(days=1)
    _tick(ctx, t + timedelta(hours=4))
    decisions = [
        ms.LotDecisionIn(
            lot_id=lot.lot_id,
            outcome="rejected" if lot.mismatches else "accepted",  # type: ignore[arg-type]
            method_code=None if lot.mismatches else m.line(lot.line_no).planned_method,
        )
        for lot in m.lots
    ]
    m = manifests.confirm(
        actor=u["handler"],
        cmd=ms.ManifestConfirm(
            **_env(m),
            occurred_at=t,
            lots=decisions,
            consignor_notified_at=t,
            eeb_report_ref=f"吴环固报〔{t.year}〕{rng.randint(10, 99)}号",
            notes="称重少 15%，包装破损，拒收该件",
        ),
        **kw,
    ).manifest
    rejected = [lot for lot in m.lots if lot.outcome and lot.outcome.value == "rejected"]
    if rejected and stop != "confirmed":  # confirmed: the rejected lot still waits at the gate
        manifests.return_lots(
            actor=u["ehs_manager"],
            cmd=ms.ManifestReturn(
                **_env(m),
                occurred_at=t + timedelta(hours=4),
                lot_ids=[lot.lot_id for lot in rejected],
                zone_id=rejected[0].zone_id,  # type: ignore[arg-type]
                reason="接受人拒收：重量不符、包装破损，退回厂内贮存后重新包装",
            ),
            **kw,
        )


def _finish(plant: Any, site: str, when_made: datetime, close: bool) -> Action:
    """Disposal of every accepted lot of the site's last trip of that day, then closing."""

    def run(session: Session, ctx: AppContext, when: datetime) -> None:
        rows = session.exec(
            select(ManifestRow).where(
                ManifestRow.site_id == plant.site_ids[site],
                ManifestRow.status == "received",
                ManifestRow.created_at >= when_made - timedelta(hours=1),
                ManifestRow.created_at <= when_made + timedelta(hours=2),
            )
        ).all()
        u = plant.users
        for row in rows:
            with session.begin_nested():
                m = manifests.get_manifest(
                    session=session, actor=u["handler"], manifest_id=row.manifest_id
                )
                done = [
                    ms.CompletedLotIn(
                        lot_id=lot.lot_id,
                        method_code=lot.method_code or m.line(lot.line_no).planned_method,
                        completed_on=(when + timedelta(hours=8)).date(),
                    )
                    for lot in m.lots
                    if lot.outcome is not None
                    and lot.outcome.value != "rejected"
                    and lot.completed_on is None
                ]
                if done:
                    m = manifests.dispose(
                        session=session,
                        ctx=ctx,
                        actor=u["handler"],
                        manifest_id=m.manifest_id,
                        cmd=ms.ManifestDispose(**_env(m), occurred_at=when, lots=done),
                    ).manifest
                if close and m.status.value == "disposed":
                    _tick(ctx, when + timedelta(days=2))
                    manifests.close(
                        session=session,
                        ctx=ctx,
                        actor=u["ehs_manager"],
                        manifest_id=m.manifest_id,
                        cmd=ms.Action(**_env(m), occurred_at=when + timedelta(days=2)),
                    )

    return run


def plan(
    rng: random.Random, plant: Any, start: datetime, now: datetime
) -> list[tuple[datetime, Action]]:
    """A trip on the 25th of every month per site (09:00 China time), completed and closed;
    in the last days one trip in each intermediate state."""
    out: list[tuple[datetime, Action]] = []
    day = datetime(start.year, start.month, 25, 1, 0, tzinfo=UTC)
    outage = now - timedelta(days=120)  # the month the national system was down that day
    while day < now - timedelta(days=16):
        if day > start + timedelta(days=20):
            for site in ("SZ01", "TZ02"):
                at = day + timedelta(hours=0 if site == "SZ01" else 3)
                paper = site == "SZ01" and (day.year, day.month) == (outage.year, outage.month)
                out.append((at, _trip(plant, site, "closed", rng, 20, 60, paper)))
                out.append(
                    (at + timedelta(days=rng.randint(4, 12)), _finish(plant, site, at, close=True))
                )
        month = day.month % 12 + 1
        day = day.replace(year=day.year + (day.month == 12), month=month)
    recent = [
        (14, "closed", "SZ01"),  # disposed, not closed yet
        (9, "cancelled", "SZ01"),
        (7, "discrepancy", "SZ01"),
        (6, "confirmed", "TZ02"),  # received lots awaiting disposal, a rejected one at the gate
        (5, "in_transit", "SZ01"),
        (3, "loaded", "SZ01"),
        (2, "submitted", "SZ01"),
        (1, "draft", "SZ01"),
    ]
    for days_ago, stop, site in recent:
        at = (now - timedelta(days=days_ago)).replace(hour=1, minute=30, second=0, microsecond=0)
        out.append((at, _trip(plant, site, stop, rng, 2, 6)))
        if days_ago == 14:
            out.append((at + timedelta(days=5), _finish(plant, "SZ01", at, close=False)))
    return [(w, a) for w, a in out if w < now]


def declarations(session: Session, ctx: AppContext, plant: Any) -> int:
    """Each site's periodic declarations of the last twelve months, filed a few days before
    they fell due; the main site's latest one the EHS manager has still to file (R60)."""
    ehs: Principal = plant.users["ehs_manager"]
    today = ctx.clock.now().astimezone(CHINA_TZ).date()
    filed = 0
    for code, site_id in plant.site_ids.items():
        cal = exports.declaration_calendar(session=session, ctx=ctx, actor=ehs, site_id=site_id)
        due = [p.due_on for p in cal.periods if p.due_on <= today]
        forgotten = max(due) if due and code == "SZ01" else None
        for p in sorted(cal.periods, key=lambda p: p.due_on):
            if p.due_on == forgotten or p.due_on > today or p.status == "filed":
                continue
            filed_on = min(p.due_on - timedelta(days=3), today)
            exports.file_declaration(
                session=session,
                ctx=ctx,
                actor=ehs,
                cmd=es.DeclarationFilingCreate(
                    event_id=uuid5(site_id, f"declaration:{p.period}"),
                    occurred_at=datetime.combine(filed_on, time(10), CHINA_TZ),
                    site_id=site_id,
                    period=p.period,
                    filed_on=filed_on,
                    receipt_no=f"SB{p.period.replace('-', '')}{str(site_id)[:4].upper()}",
                ),
            )
            filed += 1
    return filed


def count(ctx: AppContext) -> int:
    with ctx.db.session(write=False) as session:
        return int(session.exec(select(sa.func.count()).select_from(ManifestRow)).one())
