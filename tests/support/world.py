"""The small world every integration test starts from (built once into the template DB)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

from app.config import Environment, Settings

JWT_SECRET = "test-jwt-secret-with-enough-entropy-0123456789"
SIGNING_SEED = "7e" * 32
PASSWORD = "correct horse battery"


def make_settings(url: str, var_dir: Path) -> Settings:
    return Settings(
        app_env=Environment.testing,
        database_url=url,
        var_dir=var_dir,
        jwt_secret=JWT_SECRET,
        site_signing_seed=SIGNING_SEED,
    )


@dataclass
class World:
    plant: UUID
    handler_org: UUID
    carrier_org: UUID
    regulator: UUID
    site_a: UUID
    site_b: UUID
    users: dict[str, UUID] = field(default_factory=dict)
    zones: dict[str, UUID] = field(default_factory=dict)
    handler2_org: UUID | None = None  # a second licensed handler (portal-scope tests)


def build_world(url: str, tmp: Path) -> World:
    from app import tables  # noqa: F401
    from app.context import AppContext
    from app.domain.uscc import uscc_with_check
    from app.domain.values import Role
    from app.identity import schemas
    from app.identity import service as identity_service
    from app.zones import schemas as zone_schemas
    from app.zones import service as zone_service

    ctx = AppContext.create(make_settings(url, tmp))
    with ctx.db.session() as s:

        def ent(name: str, u17: str, kind: str, div: str) -> UUID:
            return identity_service.create_enterprise(
                session=s,
                ctx=ctx,
                cmd=schemas.EnterpriseCreate(
                    name=name, uscc=uscc_with_check(u17), kind=kind, division_code=div
                ),
            ).id  # type: ignore[arg-type]

        plant = ent("测试化工有限公司", "91320594MA1N2B3C4", "plant", "320571")
        handler = ent("测试处置有限公司", "91320506MA1P5Q6R7", "handler", "320506")
        carrier = ent("测试运输有限公司", "91320505MA1T8U9W0", "carrier", "320505")
        regulator = ent("测试生态环境局", "11320500014000001", "regulator", "320500")
        handler2 = ent("另一处置有限公司", "91320582MA1X2Y3W4", "handler", "320582")
        site_a = identity_service.create_site(
            session=s,
            ctx=ctx,
            cmd=schemas.SiteCreate(
                enterprise_id=plant,
                code="SZ01",
                name="苏州厂区",
                division_code="320571",
                contact_name="王敏",
                contact_phone="0512-62880000",
            ),
        ).id
        site_b = identity_service.create_site(
            session=s,
            ctx=ctx,
            cmd=schemas.SiteCreate(
                enterprise_id=plant,
                code="TZ02",
                name="泰州厂区",
                division_code="321202",
                contact_name="李华",
                contact_phone="0523-86000000",
            ),
        ).id
        world = World(
            plant=plant,
            handler_org=handler,
            carrier_org=carrier,
            regulator=regulator,
            handler2_org=handler2,
            site_a=site_a,
            site_b=site_b,
        )
        specs = [
            ("admin", Role.admin, plant, True, []),
            ("ehs_manager", Role.ehs_manager, plant, True, []),
            ("operator", Role.operator, plant, False, [site_a]),
            ("operator_b", Role.operator, plant, False, [site_b]),
            ("auditor", Role.auditor, regulator, False, [site_a]),
            ("handler", Role.handler, handler, False, []),
            ("handler2", Role.handler, handler2, False, []),
            ("transporter", Role.transporter, carrier, False, []),
        ]
        for username, role, ent_id, all_sites, sites in specs:
            u = identity_service.create_user(
                session=s,
                ctx=ctx,
                cmd=schemas.UserCreate(
                    username=username,
                    display_name=username,
                    password=PASSWORD,
                    role=role,
                    enterprise_id=ent_id,
                    all_sites=all_sites,
                    site_ids=sites,
                ),
            )
            world.users[username] = u.id
        admin = identity_service.principal_for(session=s, user_id=world.users["admin"])
        for site, code, kind, cap in [
            (site_a, "A1", "hazardous", 40000),
            (site_a, "A2", "hazardous", 40000),
            (site_a, "G1", "general", 100000),
            (site_b, "B1", "hazardous", 40000),
        ]:
            z = zone_service.register_zone(
                session=s,
                ctx=ctx,
                actor=admin,
                cmd=zone_schemas.ZoneCreate(
                    event_id=uuid4(),
                    site_id=site,
                    code=code,
                    name=f"{code} 区",
                    kind=kind,  # type: ignore[arg-type]
                    capacity_kg=Decimal(cap),
                    containment_l=Decimal(2000) if kind == "hazardous" else None,
                ),
            )
            world.zones[code] = z.zone_id
    ctx.db.dispose()
    return world
