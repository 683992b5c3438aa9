"""Handheld use cases: device admin and sign-in, scan (resolve + next actions pre-checked by the
rules), and one action at a time. Batches are in `mobile_api.sync`.

Every action calls the same use case as the manager API (`app.lots.service`,
`app.zones.service`): the handheld is another client, not another core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid5

from sqlmodel import Session, select

from app.context import AppContext
from app.domain import lot as lot_domain
from app.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from app.domain.lot import LotState, LotStatus
from app.domain.manifest import ManifestStatus
from app.domain.rules.base import Finding
from app.domain.rules.registry import blocking
from app.domain.values import ContainerCondition, ReceiptOutcome, china_date
from app.eventstore.store import CLOCK_SKEW, EventStore
from app.identity import devices as device_service
from app.identity.devices import Device
from app.identity.models import Site
from app.identity.permissions import Permission, Principal
from app.labelling import service as labelling_service
from app.labelling.service import Rendered
from app.lots import schemas as lot_schemas
from app.lots import service as lot_service
from app.manifests import schemas as manifest_schemas
from app.manifests import service as manifest_service
from app.projections.lots import LotRow, ZoneInventoryRow
from app.projections.lots import state_of as lot_state_of
from app.projections.zones import ZoneRow
from app.rules import service as rule_service
from app.zones import schemas as zone_schemas
from app.zones import service as zone_service
from labels.ids import DigitalIdError, normalise_scan, parse_lot_id
from mobile_api import schemas

STATUS_ZH = {
    "generated": "已产生",
    "labelled": "已贴标",
    "stored": "已入库",
    "allocated": "已配联单",
    "shipped": "已转移",
    "received": "已接收",
    "rejected": "已拒收",
    "disposed": "已处置",
    "utilised": "已利用",
    "discarded": "已随生活垃圾清运",
}
ACTION_ZH = {
    "generate": "产生登记",
    "label": "贴标",
    "weigh": "称重",
    "store": "入库",
    "move": "移库",
    "inspect": "检查",
    "repack": "重新包装",
    "inspect_zone": "区域巡检",
    "load": "装车",
    "receive": "接收",
    "discard": "随生活垃圾清运",
}
CONDITION_ZH = {"intact": "完好", "damaged": "破损", "leaking": "渗漏", "deformed": "变形"}


class FutureOccurredAt(InvalidInput):
    code = "occurred_at_in_future"


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"


# ---------------------------------------------------------------- devices


def device_read(d: Device) -> schemas.DeviceRead:
    return schemas.DeviceRead(
        device_id=d.id, site_id=d.site_id, name=d.name, enrolled_at=d.enrolled_at,
        revoked_at=d.revoked_at,
    )  # fmt: skip


def enrol_device(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.DeviceEnrol
) -> schemas.DeviceEnrolled:
    device, issued = device_service.enrol_device(
        session=session, ctx=ctx, actor=actor, site_id=cmd.site_id, name=cmd.name
    )
    return schemas.DeviceEnrolled(
        **device_read(device).model_dump(), device_token=issued.token, expires_in=issued.expires_in
    )


def revoke_device(
    *, session: Session, ctx: AppContext, actor: Principal, device_id: UUID
) -> schemas.DeviceRead:
    return device_read(
        device_service.revoke_device(session=session, ctx=ctx, actor=actor, device_id=device_id)
    )


def list_devices(*, session: Session, actor: Principal) -> list[schemas.DeviceRead]:
    return [device_read(d) for d in device_service.list_devices(session=session, actor=actor)]


def _context(session: Session, ctx: AppContext, actor: Principal) -> dict[str, Any]:
    assert actor.device_id is not None
    device = device_service.active_device(session=session, device_id=actor.device_id)
    site = session.get(Site, device.site_id)
    assert site is not None
    zones = session.exec(
        select(ZoneRow).where(ZoneRow.site_id == site.id).order_by(ZoneRow.code)  # type: ignore[arg-type]
    )
    return {
        "user": schemas.UserBrief(
            user_id=actor.user_id, username=actor.username, role=actor.role.value
        ),
        "device": device_read(device),
        "site": schemas.SiteBrief(site_id=site.id, code=site.code, name=site.name),
        "zones": [_zone_brief(z) for z in zones],
        "max_batch": ctx.settings.mobile.max_batch,
        "manifests_available": True,
    }


def sign_in(
    *,
    session: Session,
    ctx: AppContext,
    device: Device,
    cmd: schemas.SignIn,
    client: str | None = None,
) -> schemas.SessionRead:
    principal, issued = device_service.sign_in(
        session=session,
        ctx=ctx,
        device=device,
        username=cmd.username,
        password=cmd.password,
        client=client,
    )
    return schemas.SessionRead(
        **_context(session, ctx, principal),
        access_token=issued.token,
        expires_in=issued.expires_in,
    )


def device_context(*, session: Session, ctx: AppContext, actor: Principal) -> schemas.DeviceContext:
    return schemas.DeviceContext(**_context(session, ctx, actor))


# ---------------------------------------------------------------- summaries


def finding_read(f: Finding | dict[str, Any]) -> schemas.FindingRead:
    d = f.model_dump(mode="json") if isinstance(f, Finding) else f
    cit = d.get("citation") or {}
    citation = " ".join(x for x in (cit.get("document"), cit.get("clause")) if x)
    return schemas.FindingRead(
        rule_id=d["rule_id"],
        severity=d["severity"],
        message_zh=d["message_zh"],
        message_en=d["message_en"],
        citation=citation,
        text_zh=f"{d['message_zh']}（{citation}）" if citation else d["message_zh"],
    )


def label_url(lot_id: UUID) -> str:
    return f"/mobile/v1/lots/{lot_id}/label.pdf"


def _zone_brief(z: ZoneRow) -> schemas.ZoneBrief:
    return schemas.ZoneBrief(zone_id=z.zone_id, code=z.code, name=z.name, kind=z.kind)


def lot_brief(session: Session, s: LotState) -> schemas.LotBrief:
    zone_code = None
    if s.zone_id is not None:
        zone = session.get(ZoneRow, s.zone_id)
        zone_code = zone.code if zone else None
    return schemas.LotBrief(
        lot_id=s.lot_id,
        digital_id=s.digital_id,
        status=s.status,
        status_zh=STATUS_ZH[s.status.value],
        version=s.version,
        name=s.name,
        category=s.category,
        waste_code=s.waste_code,
        hazard_characteristics=list(s.hazard_characteristics),
        physical_form=s.physical_form.value,
        container=schemas.ContainerBrief(
            type=s.container.type.value, volume_l=s.container.volume_l
        ),
        condition=s.condition,
        needs_repack=s.needs_repack,
        weight_kg=s.weight_kg,
        zone_id=s.zone_id,
        zone_code=zone_code,
        manifest_id=s.manifest_id,
        label_url=label_url(s.lot_id) if s.digital_id else None,
        exempt=s.exempt,
    )


def _brief_of_read(r: lot_schemas.LotRead) -> schemas.LotBrief:
    return schemas.LotBrief(
        lot_id=r.lot_id,
        digital_id=r.digital_id,
        status=r.status,
        status_zh=STATUS_ZH[r.status.value],
        version=r.version,
        name=r.name,
        category=r.category,
        waste_code=r.waste_code,
        hazard_characteristics=r.hazard_characteristics,
        physical_form=r.physical_form.value,
        container=schemas.ContainerBrief(type=r.container.type, volume_l=r.container.volume_l),
        condition=r.condition,
        needs_repack=r.needs_repack,
        weight_kg=r.weight_kg,
        zone_id=r.zone_id,
        zone_code=r.zone_code,
        manifest_id=r.manifest_id,
        label_url=label_url(r.lot_id) if r.digital_id else None,
        exempt=r.exempt,
    )


def _zone_summary(session: Session, z: ZoneRow) -> schemas.ZoneSummary:
    lines = session.exec(select(ZoneInventoryRow).where(ZoneInventoryRow.zone_id == z.zone_id))  # type: ignore[arg-type]
    count, kg = 0, 0
    for line in lines:
        count += line.lot_count
        kg += line.weight_kg
    return schemas.ZoneSummary(
        **_zone_brief(z).model_dump(),
        version=z.version,
        lot_count=count,
        weight_kg=kg,
        capacity_kg=z.capacity_kg,
    )


# ---------------------------------------------------------------- next actions


def _state_check(action: str, decide: Callable[[], object]) -> schemas.NextAction:
    """Run the domain's own decision with placeholder inputs: allowed in this state or not."""
    try:
        decide()
    except (InvalidTransition, InvalidInput) as exc:
        return schemas.NextAction(
            action=action,
            label_zh=ACTION_ZH[action],
            allowed=False,
            reason=exc.message,
            reason_zh=_transition_zh(action, exc),
        )
    return schemas.NextAction(action=action, label_zh=ACTION_ZH[action], allowed=True)


def _transition_zh(action: str, exc: DomainError) -> str:
    if "condition" in exc.details:
        cond = CONDITION_ZH.get(str(exc.details["condition"]), str(exc.details["condition"]))
        return f"容器{cond}，须先重新包装，才能{ACTION_ZH[action]}"
    if "status" in exc.details:
        status = STATUS_ZH.get(str(exc.details["status"]), str(exc.details["status"]))
        return f"废物当前为「{status}」，不能{ACTION_ZH[action]}"
    if "zone_id" in exc.details:
        return "废物已在该区域"
    return f"不能{ACTION_ZH[action]}：{exc.message}"


def _with_findings(
    base: schemas.NextAction, findings: list[Finding], overridable: bool, prefix_zh: str
) -> schemas.NextAction:
    blocks = blocking(findings)
    reads = [finding_read(f) for f in findings]
    if not blocks:
        return base.model_copy(update={"findings": reads})
    first = finding_read(blocks[0])
    more = f"（另有 {len(blocks) - 1} 项）" if len(blocks) > 1 else ""
    return base.model_copy(
        update={
            "allowed": False,
            "findings": reads,
            "overridable": overridable,
            "reason": f"{blocks[0].message_en} — {first.citation}",
            "reason_zh": f"{prefix_zh}{first.message_zh} — {first.citation}{more}",
        }
    )


# Stands for the zone (or manifest) not scanned yet when a step's state check needs one: no
# real id is all zeros, and a fresh uuid4() per check cost a system call on every scan.
NOT_SCANNED = UUID(int=0)


def _storage_action(
    session: Session, ctx: AppContext, s: LotState, action: str, zone: ZoneRow | None
) -> schemas.NextAction:
    placeholder = zone.zone_id if zone is not None else NOT_SCANNED
    decide = lot_domain.store if action == "store" else lot_domain.move
    base = _state_check(action, lambda: decide(s, placeholder))
    if zone is None:
        if base.allowed:
            return base.model_copy(update={"needs": ["zone"], "reason_zh": "请扫描目标区域码"})
        return base
    base = base.model_copy(update={"zone_id": zone.zone_id, "zone_code": zone.code})
    if not base.allowed:
        return base
    if zone.site_id != s.site_id:
        return base.model_copy(
            update={
                "allowed": False,
                "reason": "zone of another site",
                "reason_zh": "不是本厂区的区域",
            }
        )
    findings = rule_service.check_storage(session=session, ctx=ctx, lot=s, zone_id=zone.zone_id)
    verb = "入库" if action == "store" else "移入"
    return _with_findings(base, findings, True, f"不能{verb} {zone.code}：")


def lot_actions(
    session: Session, ctx: AppContext, actor: Principal, s: LotState, zone: ZoneRow | None
) -> list[schemas.NextAction]:
    out = []
    if actor.has(Permission.lot_write):
        if s.status is LotStatus.generated:
            label = _state_check("label", lambda: lot_domain.label(s))
            if label.allowed:
                findings = rule_service.check_labelling(
                    session=session, ctx=ctx, lot=s, label_fields={}, at=ctx.clock.now()
                )
                findings = [f for f in findings if f.rule_id != "R10"]  # needs the rendered label
                label = _with_findings(label, findings, True, "不能贴标：")
            out.append(label)
        out.append(_storage_action(session, ctx, s, "store", zone))
        out.append(_storage_action(session, ctx, s, "move", zone))
        out.append(_state_check("weigh", lambda: lot_domain.weigh(s, s.weight_kg)))
        out.append(
            _state_check("inspect", lambda: lot_domain.inspect(s, ContainerCondition.intact))
        )
        out.append(_state_check("repack", lambda: lot_domain.repack(s, s.container, "check")))
        if s.exempt:  # 豁免管理清单 #24 (R61): out with the household waste
            today = china_date(ctx.clock.now())
            discard = lot_domain.DiscardLot(discarded_on=today)
            out.append(_state_check("discard", lambda: lot_domain.discard(s, discard, today=today)))
    out.extend(_manifest_actions(session, actor, s))
    # Most useful first: what may be done now, then what needs a scan, then what may not.
    return sorted(out, key=lambda a: (not a.allowed, bool(a.needs)))


def _manifest_actions(session: Session, actor: Principal, s: LotState) -> list[schemas.NextAction]:
    """Load (consignor or carrier) and receive (handler): the lot's own manifest decides."""
    out = []
    on = manifest_service.lot_manifest(session=session, actor=actor, lot=s)
    manifest, party = on if on is not None else (None, None)
    mlot = manifest.lot(s.lot_id) if manifest is not None else None
    if party in (None, "consignor", "carrier") and (
        actor.has(Permission.manifest_write) or actor.has(Permission.manifest_carry)
    ):
        load = _state_check("load", lambda: lot_domain.load(s, s.manifest_id or NOT_SCANNED))
        if load.allowed and (manifest is None or manifest.status is not ManifestStatus.submitted):
            load = _refused(load, "the manifest is not submitted", "联单尚未提交，不能装车")
        elif load.allowed and mlot is not None and mlot.scanned_at is not None:
            load = _refused(load, "already scanned at the vehicle", "该废物已装车扫描")
        out.append(load)
    if party in (None, "handler") and actor.has(Permission.manifest_receive):
        receive = _state_check(
            "receive",
            lambda: lot_domain.check_in(
                s, s.manifest_id or NOT_SCANNED, ReceiptOutcome.accepted, s.weight_kg
            ),
        )
        if receive.allowed and (
            manifest is None or manifest.status is not ManifestStatus.in_transit
        ):
            receive = _refused(receive, "the manifest is not in transit", "联单不在运输中")
        elif receive.allowed and mlot is not None and mlot.checked_in_at is not None:
            receive = _refused(receive, "already checked in", "该废物已接收称重")
        if receive.allowed:
            receive = receive.model_copy(update={"needs": ["input"]})
        out.append(receive)
    return out


def _refused(a: schemas.NextAction, reason: str, reason_zh: str) -> schemas.NextAction:
    return a.model_copy(update={"allowed": False, "reason": reason, "reason_zh": reason_zh})


# ---------------------------------------------------------------- scan


@dataclass(frozen=True)
class ScanContext:
    """What the device had scanned before: a lot (then a zone scan checks storing it there) or
    a zone (then a lot scan checks storing the lot there)."""

    lot_id: UUID | None = None
    zone_id: UUID | None = None


Resolver = Callable[[Session, AppContext, Principal, str, ScanContext], schemas.ScanResult | None]
RESOLVERS: list[Resolver] = []


def register_resolver(resolver: Resolver) -> Resolver:
    """Add a scan resolver (tried in order; the first non-None answer wins)."""
    RESOLVERS.append(resolver)
    return resolver


def _scoped_zone(session: Session, actor: Principal, zone_id: UUID | None) -> ZoneRow | None:
    if zone_id is None:
        return None
    zone = session.get(ZoneRow, zone_id)
    if zone is None or not actor.can_access_site(zone.site_id):
        raise NotFound("zone not found", zone_id=str(zone_id))
    return zone


@register_resolver
def _resolve_lot(
    session: Session, ctx: AppContext, actor: Principal, text: str, sc: ScanContext
) -> schemas.ScanResult | None:
    try:
        parse_lot_id(text)
    except DigitalIdError:
        return None
    try:
        state = labelling_service.resolve_code(session=session, actor=actor, code=text)
    except NotFound:  # a carrier's or handler's handheld: the lots of its manifests
        portal = manifest_service.portal_lot(session=session, actor=actor, code=text)
        if portal is None:
            raise
        state = portal
    zone = _scoped_zone(session, actor, sc.zone_id)
    return schemas.ScanResult(
        kind="lot",
        code=text,
        lot=lot_brief(session, state),
        actions=lot_actions(session, ctx, actor, state, zone),
    )


@register_resolver
def _resolve_zone(
    session: Session, ctx: AppContext, actor: Principal, text: str, sc: ScanContext
) -> schemas.ScanResult | None:
    zone = session.exec(
        select(ZoneRow).where(ZoneRow.code == text, ZoneRow.site_id.in_(actor.site_ids))  # type: ignore[attr-defined]
    ).first()
    if zone is None:
        return None
    actions: list[schemas.NextAction] = []
    if actor.has(Permission.lot_write):
        actions.append(
            schemas.NextAction(
                action="inspect_zone", label_zh=ACTION_ZH["inspect_zone"], allowed=True
            )
        )
        if sc.lot_id is not None:
            row = session.get(LotRow, sc.lot_id)
            if row is None or not actor.can_access_site(row.site_id):
                raise NotFound("lot not found", lot_id=str(sc.lot_id))
            lot = lot_state_of(row)
            for action in ("store", "move"):
                a = _storage_action(session, ctx, lot, action, zone)
                if a.allowed or a.findings or action == lot_storage_action(lot):
                    actions.insert(0, a)
    return schemas.ScanResult(
        kind="zone", code=text, zone=_zone_summary(session, zone), actions=actions
    )


def lot_storage_action(s: LotState) -> str:
    return "move" if s.status is LotStatus.stored else "store"


@register_resolver
def _resolve_manifest(
    session: Session, ctx: AppContext, actor: Principal, text: str, sc: ScanContext
) -> schemas.ScanResult | None:
    """A 14-digit transfer manifest number (issue 6) in the actor's scope, or the manifest's
    roadside-check link (the PDF's second QR code)."""
    number = text if len(text) == 14 and text.isdigit() else manifest_service.roadside_number(text)
    if number is None:
        return None
    page = manifest_service.list_manifests(session=session, actor=actor, number=number, limit=2)
    found = next((m for m in page.items if m.number == number), None)
    if found is None:
        return None
    # The lots are scanned next, one by one: each scan offers load or receive.
    return schemas.ScanResult(
        kind="manifest", code=text, manifest=found.model_dump(mode="json"), actions=[]
    )


def scan(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    code: str,
    lot_id: UUID | None = None,
    zone_id: UUID | None = None,
) -> schemas.ScanResult:
    """Resolve a scanned code (lot digital ID / QR / Code 128, zone code, manifest number) and
    list the next actions, each checked by the rules against the current state."""
    text = normalise_scan(code)
    if not text:
        raise InvalidInput("empty scan", field="code")
    sc = ScanContext(lot_id=lot_id, zone_id=zone_id)
    for resolver in RESOLVERS:
        result = resolver(session, ctx, actor, text, sc)
        if result is not None:
            return result
    raise NotFound(
        "nothing in your scope carries this code (not a lot ID, zone code or manifest number)",
        code=text,
    )


def label_pdf(*, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID) -> Rendered:
    return labelling_service.label_pdf(
        session=session, ctx=ctx, actor=actor, lot_id=lot_id, layout="roll"
    )


# ---------------------------------------------------------------- manifests


def _manifest_step(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    item: schemas.LoadItem | schemas.ReceiveItem,
) -> lot_schemas.LotCommandResult:
    """Load (at the vehicle) or check in (at the handler) one lot of a manifest: the per-lot
    steps of `app.manifests.service`, which the manifest's load and receipt then take up."""
    step = {
        "event_id": item.event_id,
        "occurred_at": item.occurred_at,
        "expected_version": item.expected_version,
        "lot_id": item.lot_id,
        "manifest_id": item.manifest_id,
        "manifest_number": item.manifest_number,
    }
    kw: dict[str, Any] = {"session": session, "ctx": ctx, "actor": actor}
    if isinstance(item, schemas.LoadItem):
        cmd = manifest_schemas.LotLoadScan(**step, vehicle_plate=item.vehicle_plate)
        return manifest_service.load_lot(**kw, cmd=cmd)
    check_in = manifest_schemas.LotCheckIn(
        **step,
        received_weight_kg=item.received_weight_kg,
        outcome=item.outcome,
        accepted_weight_kg=item.accepted_weight_kg,
        mismatches=item.mismatches,
    )
    return manifest_service.receive_lot(**kw, cmd=check_in)


# ---------------------------------------------------------------- actions


def lot_key(item: schemas.MobileAction) -> UUID | None:
    """The lot an item acts on (for generate: the lot it creates)."""
    if isinstance(item, schemas.GenerateItem):
        return item.lot_id or uuid5(lot_service.LOT_NAMESPACE, str(item.event_id))
    return getattr(item, "lot_id", None)


def _zone_id(session: Session, actor: Principal, item: Any) -> UUID:
    if item.zone_id is not None:
        return item.zone_id  # type: ignore[no-any-return]
    code = normalise_scan(item.zone_code)
    zone = session.exec(
        select(ZoneRow).where(ZoneRow.code == code, ZoneRow.site_id.in_(actor.site_ids))  # type: ignore[attr-defined]
    ).first()
    if zone is None:
        raise InvalidInput(f"no zone {code} at this site", field="zone_code", zone_code=code)
    return zone.zone_id


_ENVELOPE = {"event_id", "occurred_at", "expected_version", "override_reason"}


def _envelope(item: Any) -> dict[str, Any]:
    return {k: getattr(item, k) for k in _ENVELOPE}


def _dispatch(
    session: Session, ctx: AppContext, actor: Principal, item: schemas.MobileAction
) -> lot_schemas.LotCommandResult | zone_schemas.InspectionRead:
    kw: dict[str, Any] = {"session": session, "ctx": ctx, "actor": actor}
    match item:
        case schemas.GenerateItem():
            data = item.model_dump(exclude={"action", "depends_on", "site_id"})
            site_id = item.site_id or next(iter(actor.site_ids))
            cmd = lot_schemas.LotGenerate(**data, site_id=site_id)
            return lot_service.generate_lot(**kw, cmd=cmd)
        case schemas.LabelItem():
            return lot_service.label_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotLabel(
                    **_envelope(item), label_size_mm=item.label_size_mm, copies=item.copies
                ),
            )
        case schemas.WeighItem():
            return lot_service.weigh_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotWeigh(
                    **_envelope(item), weight_kg=item.weight_kg, scale_id=item.scale_id
                ),
            )
        case schemas.StoreItem():
            return lot_service.store_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotStore(
                    **_envelope(item),
                    zone_id=_zone_id(session, actor, item),
                    scanned_code=item.scanned_code,
                ),
            )
        case schemas.MoveItem():
            return lot_service.move_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotMove(**_envelope(item), zone_id=_zone_id(session, actor, item)),
            )
        case schemas.InspectItem():
            return lot_service.inspect_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotInspect(
                    **_envelope(item), condition=item.condition, notes=item.notes
                ),
            )
        case schemas.RepackItem():
            return lot_service.repack_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotRepack(
                    **_envelope(item),
                    container=item.container,
                    reason=item.reason,
                    weight_kg=item.weight_kg,
                ),
            )
        case schemas.InspectZoneItem():
            zone_id = _zone_id(session, actor, item)
            return zone_service.inspect_zone(
                **kw,
                zone_id=zone_id,
                cmd=zone_schemas.ZoneInspect(
                    event_id=item.event_id,
                    occurred_at=item.occurred_at,
                    items=item.items,
                    notes=item.notes,
                ),
            )
        case schemas.DiscardItem():
            day = item.discarded_on or china_date(item.occurred_at)
            return lot_service.discard_lot(
                **kw,
                lot_id=item.lot_id,
                cmd=lot_schemas.LotDiscard(**_envelope(item), discarded_on=day, note=item.note),
            )
        case schemas.LoadItem() | schemas.ReceiveItem():
            return _manifest_step(session, ctx, actor, item)
    raise InvalidInput(f"unknown action {item.action}")  # pragma: no cover


def apply(
    *, session: Session, ctx: AppContext, actor: Principal, item: schemas.MobileAction
) -> schemas.ItemResult:
    """Perform one action (or replay it, when its event id is already in the log). Raises the
    domain's errors; the caller owns the transaction (or the savepoint)."""
    if not isinstance(item, schemas.LoadItem | schemas.ReceiveItem):
        actor.require(Permission.lot_write)  # load / receive: the manifest party decides
    now = ctx.clock.now()
    existing = EventStore(session, clock=ctx.clock, keys=ctx.keys).get(item.event_id)
    if existing is None and item.occurred_at > now + CLOCK_SKEW:
        raise FutureOccurredAt(
            f"occurred_at {item.occurred_at.isoformat()} is in the future (server time "
            f"{now.isoformat()}): check the device clock",
            field="occurred_at",
        )
    answer = _dispatch(session, ctx, actor, item)
    # A replay answers as the original did: late by the event's own times, not by now.
    delay = (
        existing.recorded_at - existing.occurred_at
        if existing is not None
        else now - item.occurred_at
    )
    late = delay > timedelta(minutes=ctx.settings.mobile.late_after_minutes)
    status: schemas.ItemStatus = "duplicate" if existing is not None else "accepted"
    if isinstance(answer, zone_schemas.InspectionRead):
        z = answer.zone
        return schemas.ItemResult(
            event_id=item.event_id,
            action=item.action,
            status=status,
            late=late,
            zone=schemas.ZoneBrief(zone_id=z.zone_id, code=z.code, name=z.name, kind=z.kind),
            version=z.version,
        )
    lot = _brief_of_read(answer.lot)
    return schemas.ItemResult(
        event_id=item.event_id,
        action=item.action,
        status=status,
        late=late,
        lot=lot,
        version=answer.event.version,
        position=answer.event.position,
        label_url=lot.label_url if item.action in ("generate", "label") else None,
        findings=[finding_read(f) for f in answer.event.findings],
    )


def perform(
    *, session: Session, ctx: AppContext, actor: Principal, item: schemas.MobileAction
) -> schemas.ItemResult:
    """One action online: the result, or the error as an HTTP status (409, 422...)."""
    return apply(session=session, ctx=ctx, actor=actor, item=item)


def preload_lots(session: Session, lot_ids: list[UUID]) -> None:
    """Read a batch's lots in one query: later steps find them in the identity map (which
    `keep_rows` holds for the transaction) instead of one query per lot."""
    for i in range(0, len(lot_ids), 500):
        chunk = lot_ids[i : i + 500]
        session.exec(select(LotRow).where(LotRow.lot_id.in_(chunk))).all()  # type: ignore[attr-defined]


def current_lot(session: Session, lot_id: UUID | None) -> schemas.LotBrief | None:
    if lot_id is None:
        return None
    row = session.get(LotRow, lot_id)
    return lot_brief(session, lot_state_of(row)) if row is not None else None
