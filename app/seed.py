"""The demo plant: a pharmaceutical plant with two sites, zones, partners, one user per role
and a year of activity replayed in time order (so `recorded_at` looks like a real year).

Refused outside development mode. Grows as capabilities land.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

from sqlmodel import Session, select

from app import seed_manifests, seed_scorecard
from app.config import Environment
from app.context import AppContext
from app.domain.errors import DomainError, InvalidInput, RuleViolation
from app.domain.uscc import uscc_with_check
from app.domain.values import ContainerCondition, Role
from app.identity import schemas as id_schemas
from app.identity import service as identity_service
from app.identity.models import User
from app.identity.permissions import Principal
from app.lots import schemas as lot_schemas
from app.lots import service as lot_service
from app.projections.lots import LotRow
from app.zones import schemas as zone_schemas
from app.zones import service as zone_service

DEMO_PASSWORD = "hazchain-demo"
ROLES = [r.value for r in Role]
SEED_NAMESPACE = UUID("5d1a3c0e-2f7b-4c8e-9b1d-7a6e5f4c3b2a")


class SteppingClock:
    """The seed's server clock: set to each planned step so the log reads like a real year."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Plant:
    site_ids: dict[str, UUID]
    zones: dict[str, UUID]
    users: dict[str, Principal]
    enterprises: dict[str, UUID] = field(default_factory=dict)
    parties: dict[str, UUID] = field(default_factory=dict)


# name, code, form, container type, volume L, material, typical kg range, weight per month
HAZARDOUS = [
    ("精馏残渣", "271-001-02", "semi_solid", "drum", 200, "钢", (120, 220), 5),
    ("反应母液", "271-002-02", "liquid", "ibc", 1000, "HDPE", (600, 950), 3),
    ("废脱色滤料", "271-003-02", "solid", "bag", 50, "PP", (20, 45), 3),
    ("废有机溶剂（乙醇、丙酮）", "900-402-06", "liquid", "drum", 200, "钢", (140, 180), 4),
    ("废活性炭", "900-039-49", "solid", "ton_bag", 1000, "PP", (300, 700), 2),
    ("废包装桶、袋", "900-041-49", "solid", "bag", 200, "PP", (30, 80), 4),
    ("实验室废液", "900-047-49", "liquid", "drum", 25, "HDPE", (10, 22), 3),
    ("废酸", "900-349-34", "liquid", "drum", 200, "HDPE", (180, 230), 2),
    ("废碱液", "900-399-35", "liquid", "drum", 200, "HDPE", (180, 230), 1),
    ("废催化剂（钯碳）", "271-006-50", "solid", "drum", 50, "steel", (15, 40), 1),
]
GENERAL = [
    ("发酵菌渣（药渣）", "SW13", "I", "solid", "ton_bag", 1000, (500, 900), 3),
    ("废纸板、废木托盘", "SW17", "I", "solid", "bulk", 0, (100, 400), 2),
]
# site, facility code, name, type, audit properties
FACILITIES = [
    (
        "SZ01",
        "WH1",
        "危险废物贮存库",
        "storage_warehouse",
        {"surface_antiseepage": True, "direct_ground_contact": False},
    ),
    ("SZ01", "SP1", "合成车间贮存点", "storage_spot", {"surface_antiseepage": True}),
    ("SZ01", "GS1", "一般固废暂存间", "gis_indoor", {}),
    ("TZ02", "WH1", "危险废物贮存库", "storage_warehouse", {"surface_antiseepage": True}),
    ("TZ02", "GS1", "一般固废暂存间", "gis_indoor", {}),
]
# site, zone, name, facility, capacity kg, containment L, gas collection, allowed
ZONES = [
    ("SZ01", "A1", "危废库A1区（废酸）", "WH1", 20000, 2000, False, ["HW34"]),
    ("SZ01", "A2", "危废库A2区（废碱）", "WH1", 20000, 2000, False, ["HW35"]),
    (
        "SZ01",
        "B1",
        "危废库B1区（有机溶剂、母液、实验室废液）",
        "WH1",
        40000,
        6000,
        True,
        ["HW06", "271-002-02", "900-047-49"],
    ),
    (
        "SZ01",
        "B2",
        "危废库B2区（残渣、废活性炭、废包装、废催化剂）",
        "WH1",
        60000,
        2000,
        True,
        ["HW02", "HW49", "HW50"],
    ),
    ("SZ01", "P1", "合成车间贮存点", "SP1", 3000, 1000, False, []),
    ("SZ01", "G1", "一般固废暂存间", "GS1", 100000, None, False, ["SW13", "SW17"]),
    ("TZ02", "A1", "危废库A1区", "WH1", 20000, 2000, True, []),
    ("TZ02", "G1", "一般固废暂存间", "GS1", 50000, None, False, []),
]
ZONE_FOR = {"34": "A1", "35": "A2", "06": "B1", "02": "B2", "49": "B2", "50": "B2"}
ZONE_FOR_CODE = {"271-002-02": "B1", "900-047-49": "B1"}
# Characteristics the plant's own identification found, where the listing says "may" (","/"/"):
# solvents and laboratory waste here are toxic and ignitable, not reactive.
HAZARDS = {"HW06": ["T", "I"], "900-047-49": ["T", "I"]}


def seed_demo(
    ctx: AppContext,
    session_factory: Callable[[], object] | None = None,
    days: int = 365,
    lots_per_month: int | None = None,
) -> dict[str, int]:
    """Create the demo plant. Returns counts. Refuses outside development mode or if the
    database already holds users."""
    if ctx.settings.app_env is Environment.production:
        raise InvalidInput("demo seeding is refused outside development mode (APP_ENV)")
    now = ctx.clock.now()
    start = now - timedelta(days=days)
    clock = SteppingClock(start)
    sctx = replace(ctx, clock=clock)
    with ctx.db.session() as session:
        if session.exec(select(User)).first() is not None:
            raise InvalidInput("the database already has users: demo seeding needs an empty one")
        plant = _master_data(session, sctx)
        seed_manifests.parties(session, sctx, plant, start, now)
    rng = random.Random(2026)
    steps = _plan(rng, plant, start, now, lots_per_month)
    steps += seed_manifests.plan(rng, plant, start, now)
    steps.sort(key=lambda s: s[0])
    counts = {"lots": 0, "steps": 0}
    with ctx.db.session() as session:
        for when, action in steps:
            clock.at = when + timedelta(minutes=rng.randint(1, 90))
            if clock.at > now:
                clock.at = now
            try:
                action(session, sctx, when)
            except DomainError:
                # A step the rules or the state machine refuse is left out, as an operator
                # would (the seed plans without knowing every zone's stock on the day).
                counts["refused"] = counts.get("refused", 0) + 1
                continue
            counts["steps"] += 1
    counts["manifests"] = seed_manifests.count(ctx)
    with ctx.db.session() as session:
        counts["declarations"] = seed_manifests.declarations(session, ctx, plant)
    with ctx.db.session() as session:
        counts["scorecard_entries"] = seed_scorecard.seed(
            session, ctx, plant.users["ehs_manager"], plant.site_ids
        )
    counts["lots"] = sum(1 for _, a in steps if getattr(a, "generates", False))
    return counts


def _master_data(session: Session, ctx: AppContext) -> Plant:
    def ent(name: str, uscc17: str, kind: str, division: str, **kw: str) -> UUID:
        e = identity_service.create_enterprise(
            session=session,
            ctx=ctx,
            cmd=id_schemas.EnterpriseCreate(
                name=name,
                uscc=uscc_with_check(uscc17),
                kind=kind,  # type: ignore[arg-type]
                division_code=division,
                **kw,
            ),
        )
        return e.id

    plant = ent(
        "江苏示范药业有限公司",
        "91320594MA1N2B3C4",
        "plant",
        "320571",
        address="江苏省苏州市工业园区星湖街 218 号",
        contact_name="王敏",
        contact_phone="0512-6288 0000",
    )
    handler = ent(
        "苏州市固废处置中心有限公司",
        "91320506MA1P5Q6R7",
        "handler",
        "320506",
        address="苏州市吴中区",
        contact_name="李强",
        contact_phone="0512-6510 0000",
    )
    carrier = ent(
        "苏州安运危险品物流有限公司",
        "91320505MA1T8U9W0",
        "carrier",
        "320505",
        contact_name="赵刚",
        contact_phone="0512-6660 0000",
    )
    regulator = ent("苏州市生态环境局", "11320500014000001", "regulator", "320500")
    sites = {}
    for code, name, division, addr in [
        ("SZ01", "苏州工业园区原料药厂区", "320571", "苏州工业园区星湖街 218 号"),
        ("TZ02", "泰州制剂厂区", "321202", "泰州市海陵区药城大道 1 号"),
    ]:
        site = identity_service.create_site(
            session=session,
            ctx=ctx,
            cmd=id_schemas.SiteCreate(
                enterprise_id=plant,
                code=code,
                name=name,
                division_code=division,
                address=addr,
                contact_name="王敏",
                contact_phone="0512-6288 0000",
            ),
        )
        sites[code] = site.id
    users = {}
    for role in ROLES:
        enterprise = {"handler": handler, "transporter": carrier, "auditor": regulator}.get(
            role, plant
        )
        all_sites = role in {"admin", "ehs_manager"}
        site_ids = [sites["SZ01"]] if role in {"operator", "auditor"} else []
        u = identity_service.create_user(
            session=session,
            ctx=ctx,
            cmd=id_schemas.UserCreate(
                username=role,
                display_name=DISPLAY[role],
                password=DEMO_PASSWORD,
                role=Role(role),
                enterprise_id=enterprise,
                all_sites=all_sites,
                site_ids=site_ids,
            ),
        )
        users[role] = identity_service.principal_for(session=session, user_id=u.id)
    facilities = {}
    for site_code, code, name, ftype, audit in FACILITIES:
        f = zone_service.register_facility(
            session=session,
            ctx=ctx,
            actor=users["admin"],
            cmd=zone_schemas.FacilityCreate(
                event_id=uuid5(SEED_NAMESPACE, f"facility-{site_code}-{code}"),
                site_id=sites[site_code],
                code=code,
                name=name,
                type=ftype,  # type: ignore[arg-type]
                **audit,
            ),
        )
        facilities[f"{site_code}/{code}"] = f.facility_id
    zones = {}
    for site_code, code, name, fac, cap, containment, gas, allowed in ZONES:
        z = zone_service.register_zone(
            session=session,
            ctx=ctx,
            actor=users["admin"],
            cmd=zone_schemas.ZoneCreate(
                event_id=uuid5(SEED_NAMESPACE, f"zone-{site_code}-{code}"),
                site_id=sites[site_code],
                code=code,
                name=name,
                facility_id=facilities[f"{site_code}/{fac}"],
                capacity_kg=Decimal(cap),
                containment_l=Decimal(containment) if containment else None,
                gas_collection=gas,
                allowed_categories=[a for a in allowed if a[:2] in {"HW", "SW"}],
                allowed_codes=[a for a in allowed if "-" in a],
                inspection_interval_days=7,
            ),
        )
        zones[f"{site_code}/{code}"] = z.zone_id
    return Plant(
        site_ids=sites,
        zones=zones,
        users=users,
        enterprises={"plant": plant, "handler": handler, "carrier": carrier},
    )


DISPLAY = {
    "admin": "系统管理员",
    "ehs_manager": "EHS 经理 王敏",
    "operator": "仓管员 张伟",
    "handler": "处置单位 李强",
    "transporter": "运输单位 赵刚",
    "auditor": "监管人员 陈静",
}


def _plan(
    rng: random.Random, plant: Plant, start: datetime, now: datetime, per_month: int | None
) -> list[tuple[datetime, Callable[..., None]]]:
    steps: list[tuple[datetime, Callable[..., None]]] = []
    op = plant.users["operator"]
    mgr = plant.users["ehs_manager"]
    total_days = (now - start).days
    months = max(1, total_days // 30)
    scale = 1 if per_month is None else per_month
    for m in range(months):
        for name, code, form, ctype, vol, material, (lo, hi), n in HAZARDOUS:
            for _ in range(n * scale if per_month else n):
                day = m * 30 + rng.randint(0, 29)
                site = "TZ02" if rng.random() < 0.15 else "SZ01"
                if code[-2:] in {"34", "35"}:
                    site = "SZ01"  # the Taizhou site makes no acids or alkalis
                steps += _lot_steps(
                    rng,
                    plant,
                    start
                    + timedelta(days=day, hours=rng.randint(7, 17) - 8),  # China working hours
                    now,
                    site,
                    op if site == "SZ01" else mgr,
                    lot_schemas.LotGenerate(
                        event_id=uuid4(),
                        site_id=plant.site_ids[site],
                        kind="hazardous",  # type: ignore[arg-type]
                        name=name,
                        waste_code=code,
                        physical_form=form,  # type: ignore[arg-type]
                        container={"type": ctype, "volume_l": vol, "material": material},  # type: ignore[arg-type]
                        weight_kg=Decimal(rng.randint(lo * 10, hi * 10)) / 10,
                        main_components=name,
                        harmful_components="有机物、重金属" if "催化剂" in name else "有机物",
                        precautions="防渗漏，远离火源",
                        source="合成车间",
                        hazard_characteristics=HAZARDS.get(code) or HAZARDS.get(f"HW{code[-2:]}"),
                        headspace_mm=Decimal(120) if form in {"liquid", "semi_solid"} else None,
                    ),
                )
        for name, cat, cls, form, ctype, vol, (lo, hi), n in GENERAL:
            for _ in range(n):
                day = m * 30 + rng.randint(0, 29)
                site = "SZ01"
                steps += _lot_steps(
                    rng,
                    plant,
                    start
                    + timedelta(days=day, hours=rng.randint(7, 17) - 8),  # China working hours
                    now,
                    site,
                    op,
                    lot_schemas.LotGenerate(
                        event_id=uuid4(),
                        site_id=plant.site_ids[site],
                        kind="general",  # type: ignore[arg-type]
                        name=name,
                        general_class=cls,
                        general_category=cat,  # type: ignore[arg-type]
                        physical_form=form,  # type: ignore[arg-type]
                        container={"type": ctype, "volume_l": vol},  # type: ignore[arg-type]
                        weight_kg=Decimal(rng.randint(lo, hi)),
                        source="发酵车间",
                    ),
                )
    steps += _inspections(plant, start, now, op)
    return steps


def _inspections(
    plant: Plant, start: datetime, now: datetime, actor: Principal
) -> list[tuple[datetime, Callable[..., None]]]:
    """A weekly walk through every hazardous-waste zone (GB 18597 8.2.2), Mondays 09:00."""
    out: list[tuple[datetime, Callable[..., None]]] = []
    for key, zone_id in plant.zones.items():
        if key.endswith("/G1"):
            continue

        def inspect(
            session: Session, ctx: AppContext, when: datetime, zone_id: UUID = zone_id
        ) -> None:
            lots = session.exec(select(LotRow).where(LotRow.zone_id == zone_id)).all()
            items = [{"lot_id": lot.lot_id, "condition": lot.condition} for lot in lots]
            zone_service.inspect_zone(
                session=session,
                ctx=ctx,
                actor=actor,
                zone_id=zone_id,
                cmd=zone_schemas.ZoneInspect(
                    event_id=uuid4(),
                    occurred_at=when,
                    items=items,  # type: ignore[arg-type]
                    notes="周检：地面清洁，无渗漏",
                ),
            )

        day = start.replace(hour=1, minute=0, second=0, microsecond=0)  # 09:00 China time
        while day < now - timedelta(days=3):  # the last week's walk is due: an alert shows it
            out.append((day, inspect))
            day += timedelta(days=7)
    return out


def _lot_steps(
    rng: random.Random,
    plant: Plant,
    t0: datetime,
    now: datetime,
    site: str,
    actor: Principal,
    cmd: lot_schemas.LotGenerate,
) -> list[tuple[datetime, Callable[..., None]]]:
    lot_id = uuid5(SEED_NAMESPACE, str(cmd.event_id))
    cmd = cmd.model_copy(update={"lot_id": lot_id, "occurred_at": t0})
    age = (now - t0).days
    steps: list[tuple[datetime, Callable[..., None]]] = []

    def gen(session: Session, ctx: AppContext, when: datetime) -> None:
        lot_service.generate_lot(session=session, ctx=ctx, actor=actor, cmd=cmd)

    gen.generates = True  # type: ignore[attr-defined]
    steps.append((t0, gen))
    if age < 1 and rng.random() < 0.6:
        return steps

    def act(fn: Callable[..., object], make: Callable[[LotRow], object]) -> Callable[..., None]:
        def run(session: Session, ctx: AppContext, when: datetime) -> None:
            row = session.get(LotRow, lot_id)
            if row is None:
                raise InvalidInput("the lot was not generated")
            fn(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=make(row))

        return run

    def env(row: LotRow, when: datetime) -> dict[str, object]:
        return {"event_id": uuid4(), "occurred_at": when, "expected_version": row.version}

    t = t0 + timedelta(minutes=20)
    steps.append((t, act(lot_service.label_lot, lambda r, t=t: lot_schemas.LotLabel(**env(r, t)))))
    if age < 2 and rng.random() < 0.5:
        return steps
    kind = cmd.kind.value
    suffix = (cmd.waste_code or "")[-2:]
    home = ZONE_FOR_CODE.get(cmd.waste_code or "", ZONE_FOR.get(suffix, "B2"))
    zone_code = "G1" if kind == "general" else home
    if site == "TZ02":
        zone_code = "G1" if kind == "general" else "A1"
    if kind == "hazardous" and site == "SZ01" and rng.random() < 0.2:
        zone_code = "P1"  # first to the workshop storage spot, later to the warehouse
    zone_id = plant.zones[f"{site}/{zone_code}"]
    dest = plant.zones[f"{site}/{home if site == 'SZ01' else zone_code}"]

    def store(session: Session, ctx: AppContext, when: datetime) -> None:
        row = session.get(LotRow, lot_id)
        if row is None:
            raise InvalidInput("the lot was not generated")
        try:
            lot_service.store_lot(
                session=session,
                ctx=ctx,
                actor=actor,
                lot_id=lot_id,
                cmd=lot_schemas.LotStore(zone_id=zone_id, **env(row, when)),
            )
        except RuleViolation:
            if zone_id == dest:
                raise
            # The storage spot is full (3 t): straight to the warehouse zone instead.
            lot_service.store_lot(
                session=session,
                ctx=ctx,
                actor=actor,
                lot_id=lot_id,
                cmd=lot_schemas.LotStore(zone_id=dest, **env(row, when)),
            )

    steps.append((t0 + timedelta(hours=2), store))
    if zone_code == "P1":
        t = t0 + timedelta(days=rng.randint(1, 5))
        if t < now:
            steps.append(
                (
                    t,
                    act(
                        lot_service.move_lot,
                        lambda r, t=t: lot_schemas.LotMove(zone_id=dest, **env(r, t)),
                    ),
                )
            )
    if rng.random() < 0.05 and age > 10:
        t = t0 + timedelta(days=7)
        steps.append(
            (
                t,
                act(
                    lot_service.inspect_lot,
                    lambda r, t=t: lot_schemas.LotInspect(
                        condition=ContainerCondition.leaking, notes="桶底渗漏", **env(r, t)
                    ),
                ),
            )
        )
        t = t0 + timedelta(days=7, hours=1)
        steps.append(
            (
                t,
                act(
                    lot_service.repack_lot,
                    lambda r, t=t: lot_schemas.LotRepack(
                        container={"type": "drum", "volume_l": 200, "material": "HDPE"},  # type: ignore[arg-type]
                        reason="原桶渗漏，转入新桶",
                        **env(r, t),
                    ),
                ),
            )
        )
    return steps
