"""Labelling use cases: allocate digital IDs, resolve scans, render labels, codes and signs.

The `labels` package is pure (DTOs in, bytes out); this module maps the lot and zone read models,
the site and enterprise and the catalogue onto its DTOs.

Digital IDs (see `labels.ids` for the format): allocated once, when a lot is generated, from the
`digital_id_sequence` counter keyed by (unit code, waste code or SW category, China-time
generation date). The counter row is bumped with one `INSERT ... ON CONFLICT DO UPDATE ...
RETURNING` in the generating transaction: concurrent allocations on one key wait for each
other's row lock and never see the same number, whichever site (chain) they append to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, select

from app.context import AppContext
from app.core.db import bump_counter
from app.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from app.domain.lot import LotState
from app.domain.values import GENERAL_CATEGORIES, PHYSICAL_FORM_ZH, WasteKind, china_date
from app.identity.models import Enterprise, Site
from app.identity.permissions import Principal
from app.labelling.models import DigitalIdSequence
from app.projections.lots import LotRow, ZoneInventoryRow, state_of
from app.projections.zones import FacilityRow, ZoneRow
from labels import codes
from labels.data import AllowedWaste, FacilitySignData, LabelData, ZoneInfo, ZoneSignData
from labels.ids import (
    DigitalIdError,
    SequenceExhaustedError,
    format_digital_id,
    format_general_waste_id,
    next_sequence,
    normalise_scan,
    normalise_waste_code,
    parse_lot_id,
)
from labels.render import render_facility_sign, render_labels, render_zone_sign

#: Generation dates on IDs and labels are calendar dates in China (UTC+8, no DST).
#: Most lots one batch PDF may hold.
MAX_BATCH = 500
#: Container volume assumed for the label size of bulk lots (volume 0): the largest band.
BULK_LABEL_LITRES = 1000.0

PDF = "application/pdf"
PNG = "image/png"
SVG = "image/svg+xml"


@dataclass(frozen=True)
class Rendered:
    """A rendered file: bytes, media type and the file name offered to the client."""

    content: bytes
    media_type: str
    filename: str


# ---------------------------------------------------------------- allocation


def _bump(session: Session, unit_code: str, code: str, day: date) -> int:
    """The next sequence number of (unit, code, day), race-free."""
    return bump_counter(
        session,
        DigitalIdSequence.__table__,  # type: ignore[attr-defined]
        {"unit_code": unit_code, "code": code, "day": day},
    )


def _site_and_owner(session: Session, site_id: UUID) -> tuple[Site, Enterprise]:
    """A site and the enterprise that owns it (whose name and USCC labels and signs print)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found", site_id=str(site_id))
    ent = session.get(Enterprise, site.enterprise_id)
    assert ent is not None
    return site, ent


def unit_code_of_site(*, session: Session, site_id: UUID) -> str:
    """The unit code printed in a lot's ID: the USCC of the enterprise that owns the site."""
    return _site_and_owner(session, site_id)[1].uscc


def allocate_digital_id(
    *,
    session: Session,
    site_id: UUID,
    kind: WasteKind,
    code: str,
    occurred_at: datetime,
) -> str:
    """The next lot ID for a lot generated at `site_id` at `occurred_at`.

    `code` is the 名录 code (hazardous, hyphenated or not) or the ``SWnn`` category (general
    waste). Raises `Conflict` when the day's sequence is exhausted (999 / 9999, policy: refuse;
    the counter change is rolled back with the transaction).
    """
    unit_code = unit_code_of_site(session=session, site_id=site_id)
    day = china_date(occurred_at)
    general = kind is WasteKind.general
    key = code.strip().upper() if general else normalise_waste_code(code)
    seq = _bump(session, unit_code, key, day)
    try:
        next_sequence(seq - 1, general_waste=general)
        if general:
            return format_general_waste_id(unit_code, key, day, seq)
        return format_digital_id(unit_code, key, day, seq)
    except SequenceExhaustedError as exc:
        maximum = 9999 if general else 999
        raise Conflict(
            f"数字识别码序列号已用尽：本单位 {day:%Y-%m-%d} 产生的 {code} 已编号 {maximum} 个，"
            "不能再分配（请合并包装或检查是否重复生成）。 "
            f"Digital ID sequence exhausted: {maximum} lots of {code} were already generated "
            f"by this unit on {day:%Y-%m-%d} (China time); no further ID can be issued.",
            reasons=exc.reasons,
            unit_code=unit_code,
            code=code,
            day=day.isoformat(),
        ) from exc
    except DigitalIdError as exc:
        raise InvalidInput(
            f"cannot build a digital ID: {exc}", field="waste_code", reasons=exc.reasons
        ) from exc


# ---------------------------------------------------------------- lookups


def _lot_state(session: Session, actor: Principal, lot_id: UUID) -> LotState:
    row = session.get(LotRow, lot_id)
    if row is None:
        raise NotFound("lot not found", lot_id=str(lot_id))
    actor.require_site(row.site_id)
    return state_of(row)


# Every handheld scan of a lot runs this: built once (like the event store's statements) and read
# as a plain row, which `state_of` takes as it takes the ORM's, without the identity map.
_LOTS = LotRow.__table__  # type: ignore[attr-defined]
_BY_DIGITAL_ID = sa.select(_LOTS).where(_LOTS.c.digital_id == sa.bindparam("code"))


def resolve_code(*, session: Session, actor: Principal, code: str) -> LotState:
    """The lot a scanned code names: a digital ID, a QR or a Code 128 payload (raw scanner
    input: whitespace, CR/LF, AIM prefix, full-width or lower case are cleaned first)."""
    text = normalise_scan(code)
    try:
        parse_lot_id(text)
    except DigitalIdError as exc:
        raise InvalidInput(
            f"not a lot ID: {exc}", field="code", code=text, reasons=exc.reasons
        ) from exc
    row = session.connection().execute(_BY_DIGITAL_ID, {"code": text}).first()
    if row is None or not actor.can_access_site(row.site_id):
        raise NotFound("no lot carries this ID", code=text)
    return state_of(row)


def _digital_id(s: LotState) -> str:
    if not s.digital_id:
        raise InvalidTransition(
            "the lot has no digital ID (generated before IDs were allocated)",
            lot_id=str(s.lot_id),
        )
    return s.digital_id


# ---------------------------------------------------------------- label data


def _category_names(ctx: AppContext) -> dict[str, str]:
    names = {c.category: c.category_name for c in ctx.catalogue.all()}
    names.update(GENERAL_CATEGORIES)
    return names


def label_data(*, session: Session, ctx: AppContext, state: LotState) -> LabelData:
    """The HJ 1276 label DTO of a hazardous lot."""
    if state.kind is not WasteKind.hazardous:
        raise InvalidTransition(
            "general industrial solid waste has no HJ 1276 hazardous-waste label "
            "(use the QR code or barcode of its ID)",
            lot_id=str(state.lot_id),
            kind=state.kind.value,
        )
    digital_id = _digital_id(state)
    site, ent = _site_and_owner(session, state.site_id)
    litres = float(state.container.volume_l)
    weight = float(state.weight_kg)
    return LabelData(
        waste_name=state.name,
        category=state.category,
        waste_code=state.waste_code or "",
        form=PHYSICAL_FORM_ZH[state.physical_form.value],
        hazards=tuple(state.hazard_characteristics),
        main_components=state.main_components or "",
        harmful_components=state.harmful_components or "",
        precautions=state.precautions or "",
        digital_id=digital_id,
        unit_name=ent.name,
        contact_person=site.contact_name or ent.contact_name or "",
        phone=site.contact_phone or ent.contact_phone or "",
        generation_date=china_date(state.generated_at),
        weight_kg=weight if weight > 0 else None,
        container_litres=litres if litres > 0 else BULK_LABEL_LITRES,
        remarks=state.remarks or "",
    )


# ---------------------------------------------------------------- renderings


def label_pdf(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, layout: str = "roll"
) -> Rendered:
    """The lot's label: one page per label (`roll`), or placed on A4 with cut marks (`a4`)."""
    state = _lot_state(session, actor, lot_id)
    data = label_data(session=session, ctx=ctx, state=state)
    pdf = render_labels([data], mode=layout)
    return Rendered(pdf, PDF, f"label-{data.digital_id}.pdf")


def qr_png(*, session: Session, actor: Principal, lot_id: UUID) -> Rendered:
    digital_id = _digital_id(_lot_state(session, actor, lot_id))
    return Rendered(codes.qr_png(digital_id), PNG, f"qr-{digital_id}.png")


def barcode_svg(*, session: Session, actor: Principal, lot_id: UUID) -> Rendered:
    digital_id = _digital_id(_lot_state(session, actor, lot_id))
    svg = codes.code128_svg(digital_id).encode("utf-8")
    return Rendered(svg, SVG, f"barcode-{digital_id}.svg")


def batch_pdf(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    lot_ids: Sequence[UUID],
    mode: str = "roll",
) -> Rendered:
    """Labels of many lots in one PDF, in the order given."""
    if not lot_ids:
        raise InvalidInput("name at least one lot", field="lot_ids")
    if len(lot_ids) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} lots per batch", field="lot_ids")
    items = [
        label_data(session=session, ctx=ctx, state=_lot_state(session, actor, lot_id))
        for lot_id in lot_ids
    ]
    pdf = render_labels(items, mode=mode)
    return Rendered(pdf, PDF, f"labels-{len(items)}-{mode}.pdf")


ZONE_KIND_ZH = {WasteKind.hazardous.value: "危险废物", WasteKind.general.value: "一般工业固体废物"}


def zone_sign_pdf(
    *, session: Session, ctx: AppContext, actor: Principal, zone_id: UUID, page_size: str = "A4"
) -> Rendered:
    """The zone sign: zone code as QR + Code 128, the zone kind and the categories and codes
    the zone allows (what the storage rule R18 checks), or, where none are set, what it
    currently holds, plus a plan of the site's zones."""
    zone = session.get(ZoneRow, zone_id)
    if zone is None:
        raise NotFound("zone not found", zone_id=str(zone_id))
    actor.require_site(zone.site_id)
    site, ent = _site_and_owner(session, zone.site_id)
    zones = list(
        session.exec(select(ZoneRow).where(ZoneRow.site_id == zone.site_id).order_by(ZoneRow.code))
    )
    held: dict[UUID, list[str]] = {z.zone_id: [] for z in zones}
    inv = select(ZoneInventoryRow).where(
        ZoneInventoryRow.zone_id.in_(list(held)),  # type: ignore[attr-defined]
        ZoneInventoryRow.lot_count > 0,  # type: ignore[arg-type]
    )
    for line in session.exec(inv.order_by(ZoneInventoryRow.category)):
        if line.category not in held[line.zone_id]:
            held[line.zone_id].append(line.category)
    names = _category_names(ctx)
    kind = ZONE_KIND_ZH.get(zone.kind, zone.kind)
    allowed = [c for c in zone.allowed_categories.split(",") if c]
    allowed += [c for c in zone.allowed_codes.split(",") if c]
    for code in allowed:
        entry = ctx.catalogue.get(code)
        if entry is not None:
            names.setdefault(code, entry.category_name)
    data = ZoneSignData(
        facility_name=f"{ent.name} {site.name}",
        facility_code=f"{ent.uscc}-{site.code}",
        zone_code=zone.code,
        zone_name=zone.name,
        allowed=tuple(AllowedWaste(c, names.get(c, "")) for c in (allowed or held[zone.zone_id])),
        all_zones=tuple(ZoneInfo(z.code, z.name, tuple(held[z.zone_id])) for z in zones),
        page_size=page_size,
        allowed_title=f"分区类型：{kind}贮存区  "
        + ("本区允许贮存 Allowed：" if allowed else "本区现存废物类别 Currently stored："),
        empty_text="（当前无贮存 empty）",
    )
    return Rendered(render_zone_sign(data), PDF, f"zone-sign-{zone.code}.pdf")


def facility_sign_pdf(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    facility_id: UUID,
    page_size: str = "A4",
) -> Rendered:
    """The facility sign (危险废物贮存设施, HJ 1276): the unit, the facility's code, and whom to
    call — the site's contact, else the enterprise's. Every facility a plant registers here
    stores waste (贮存库, 贮存场, 贮存池, 罐区, 贮存点)."""
    facility = session.get(FacilityRow, facility_id)
    if facility is None:
        raise NotFound("facility not found", facility_id=str(facility_id))
    actor.require_site(facility.site_id)
    site, ent = _site_and_owner(session, facility.site_id)
    data = FacilitySignData(
        facility_type="贮存",
        unit_name=ent.name,
        facility_code=f"{site.code}-{facility.code} {facility.name}",
        responsible_person=site.contact_name or ent.contact_name or "",
        phone=site.contact_phone or ent.contact_phone or "",
        page_size=page_size,
    )
    return Rendered(render_facility_sign(data), PDF, f"facility-sign-{facility.code}.pdf")
