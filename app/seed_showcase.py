"""The last touch of the demo plant: a few lots in the states a random year may not leave
behind, so a newcomer sees every state and every kind of alert right after `make run`.

  - unlabelled lots (one older than a day: an alert);
  - labelled lots not yet stored;
  - lots stored for 330 and 380 days (one-year storage alerts), and one for 400 days under an
    approved storage extension (延期贮存批准: no alert while it runs);
  - a leaking container found at an inspection (awaiting repack);
  - oily rags collected unsorted with household waste (豁免管理清单 #24, R61): one bag waiting,
    exempt (no label alert), one already out with the household waste (`discarded`).

Everything goes through the services with past `occurred_at`, like a real back-entry.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from sqlmodel import Session, select

from app.alerts import service as alert_service
from app.context import AppContext
from app.identity import service as identity_service
from app.identity.models import Site, User
from app.identity.permissions import Principal
from app.lots import schemas as lot_schemas
from app.lots import service as lot_service
from app.projections.zones import ZoneRow


def _principal(session: Session, username: str) -> Principal:
    user = session.exec(select(User).where(User.username == username)).one()
    return identity_service.principal_for(session=session, user_id=user.id)


def _lot(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site: UUID,
    days_ago: float,
    name: str,
    code: str,
    **kw: object,
) -> lot_schemas.LotRead:
    cmd = lot_schemas.LotGenerate.model_validate(
        {
            "event_id": uuid4(),
            "site_id": site,
            "name": name,
            "waste_code": code,
            "physical_form": "solid",
            "container": {"type": "bag", "volume_l": "200"},
            "weight_kg": "35.5",
            "main_components": name,
            "harmful_components": "有机物",
            "precautions": "防潮、防火",
            "occurred_at": ctx.clock.now() - timedelta(days=days_ago),
            **kw,
        }
    )
    return lot_service.generate_lot(session=session, ctx=ctx, actor=actor, cmd=cmd).lot


def _step(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    lot: lot_schemas.LotRead,
    action: str,
    days_ago: float,
    **body: object,
) -> lot_schemas.LotRead:
    fn = getattr(lot_service, action if action == "extend_storage" else f"{action}_lot")
    cls = {
        "label": lot_schemas.LotLabel,
        "store": lot_schemas.LotStore,
        "inspect": lot_schemas.LotInspect,
        "extend_storage": lot_schemas.LotStorageExtension,
        "discard": lot_schemas.LotDiscard,
    }[action]
    cmd = cls.model_validate(
        {
            "event_id": uuid4(),
            "expected_version": lot.version,
            "occurred_at": ctx.clock.now() - timedelta(days=days_ago),
            **body,
        }
    )
    return fn(session=session, ctx=ctx, actor=actor, lot_id=lot.lot_id, cmd=cmd).lot  # type: ignore[no-any-return]


def add_showcase(ctx: AppContext) -> int:
    """Add the showcase lots to the demo plant, then sweep; returns the open alert count."""
    with ctx.db.session() as s:
        op = _principal(s, "operator")
        site = s.exec(select(Site).where(Site.code == "SZ01")).one().id
        b2 = s.exec(select(ZoneRow).where(ZoneRow.site_id == site, ZoneRow.code == "B2")).one()
        _lot(s, ctx, op, site, 2, "废滤布（待贴标签）", "271-003-02")
        _lot(s, ctx, op, site, 0.05, "废包装袋（刚产生）", "900-041-49")
        for days in (0.3, 0.2):
            _step(
                s,
                ctx,
                op,
                _lot(s, ctx, op, site, days, "废活性炭", "900-039-49"),
                "label",
                days - 0.01,
            )
        for days, name in ((330, "精馏残渣（长期贮存）"), (380, "废催化剂（超期贮存）")):
            code = "271-001-02" if days == 330 else "271-006-50"
            lot = _step(s, ctx, op, _lot(s, ctx, op, site, days, name, code), "label", days - 0.01)
            _step(s, ctx, op, lot, "store", days - 0.02, zone_id=b2.zone_id)
        name = "废母液（已获延期贮存批准）"
        lot = _step(s, ctx, op, _lot(s, ctx, op, site, 400, name, "271-002-02"), "label", 399.99)
        lot = _step(s, ctx, op, lot, "store", 399.98, zone_id=b2.zone_id)
        today = (ctx.clock.now() + timedelta(hours=8)).date()
        _step(
            s,
            ctx,
            _principal(s, "ehs_manager"),
            lot,
            "extend_storage",
            40,
            approval_no="苏环危延〔2026〕18号",
            authority="苏州市生态环境局",
            approved_on=str(today - timedelta(days=41)),
            extended_until=str(today + timedelta(days=150)),
        )
        lot = _step(
            s,
            ctx,
            op,
            _lot(s, ctx, op, site, 3, "废包装桶", "900-041-49", weight_kg=Decimal("18.0")),
            "label",
            2.99,
        )
        lot = _step(s, ctx, op, lot, "store", 2.98, zone_id=b2.zone_id)
        _step(s, ctx, op, lot, "inspect", 1, condition="leaking", notes="桶底渗漏，待更换包装")
        rags = {"weight_kg": Decimal("6.5"), "collected_unsorted": True}
        _lot(s, ctx, op, site, 2, "废含油抹布、手套（混入生活垃圾）", "900-041-49", **rags)
        lot = _lot(s, ctx, op, site, 6, "废含油抹布（混入生活垃圾）", "900-041-49", **rags)
        _step(
            s,
            ctx,
            op,
            lot,
            "discard",
            5,
            discarded_on=str(today - timedelta(days=5)),
            note="随厂区生活垃圾清运",
        )
    with ctx.db.session() as s:
        return alert_service.sweep(session=s, ctx=ctx).open
