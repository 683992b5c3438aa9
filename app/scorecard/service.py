"""Use cases of the scorecard: period inputs and evidence (recorded as events on the site's
`scorecard` stream), the year's facts read from the aggregates, the scorecard itself, the
drill-down to the lots behind a ratio, and the PDF / XLSX reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, select

from app.context import AppContext
from app.domain.errors import InvalidInput, NotFound
from app.domain.scorecard import Facts, PeriodInputs, evaluate, load_definition
from app.domain.scorecard.definition import Definition
from app.domain.scorecard.formulas import Licence, Scorecard, TransferFigures, WasteFigures
from app.domain.scorecard.inputs import (
    STREAM_TYPE,
    ScorecardEvidenceAttached,
    ScorecardInputsRecorded,
    stream_id_for,
)
from app.domain.values import CHINA_TZ as CHINA
from app.domain.values import Role
from app.eventstore.models import StoredEvent
from app.identity.models import Site
from app.identity.permissions import Permission, Principal
from app.parties.models import HandlerLicenceRow, ManagementPlanRow
from app.projections.alerts import AlertRow
from app.projections.lots import LotRow
from app.projections.scorecard import (
    EventDelayMonthRow,
    ManifestMonthRow,
    ScorecardEvidenceRow,
    ScorecardInputRow,
    WasteMonthRow,
    WasteTransferDayRow,
)
from app.projections.zones import FacilityRow
from app.services.recorder import Recorder

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
EVIDENCE_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
    "text/csv",
}


# ---------------------------------------------------------------- scope


def resolve_site(*, session: Session, actor: Principal, site_id: UUID | None) -> Site:
    if site_id is None:
        if len(actor.site_ids) != 1:
            raise InvalidInput(
                "site_id is required: you have access to several sites", field="site_id"
            )
        site_id = next(iter(actor.site_ids))
    if actor.role is not Role.admin:
        actor.require_site(site_id)
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found", site_id=str(site_id))
    return site


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The China-time year as UTC instants [start, end)."""
    start = datetime(year, 1, 1, tzinfo=CHINA).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA).astimezone(UTC)
    return start, end


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise InvalidInput("year out of range", field="year", value=year)


# ---------------------------------------------------------------- inputs


def inputs_for(
    *, session: Session, site_id: UUID, year: int
) -> tuple[PeriodInputs, dict[str, Any], ScorecardInputRow | None]:
    row = session.get(ScorecardInputRow, (site_id, year))
    if row is None:
        return PeriodInputs(), {}, None
    return PeriodInputs.model_validate(row.values), dict(row.self_assessed), row


def record_inputs(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site_id: UUID,
    year: int,
    event_id: UUID,
    values: dict[str, Any],
    self_assessed: dict[str, Any],
    note: str | None,
    definition: Definition | None = None,
) -> ScorecardInputRow:
    actor.require(Permission.scorecard_write)
    site = resolve_site(session=session, actor=actor, site_id=site_id)
    _check_year(year)
    d = definition or load_definition()
    unknown = sorted(k for k in self_assessed if d.criterion(k) is None)
    if unknown:
        raise InvalidInput(f"unknown criteria: {', '.join(unknown)}", field="self_assessed")
    derived = sorted(k for k in self_assessed if not k.startswith("s_"))
    if derived:
        raise InvalidInput(
            f"derived from the log, not self-assessed: {', '.join(derived)}",
            field="self_assessed",
        )
    current, _, _ = inputs_for(session=session, site_id=site.id, year=year)
    try:
        current.merged(values)
    except ValueError as exc:
        raise InvalidInput(f"invalid period inputs: {exc}", field="values") from exc
    event = ScorecardInputsRecorded(
        year=year, values=values, self_assessed=self_assessed, note=note
    )
    _record(session=session, ctx=ctx, actor=actor, site_id=site.id, event_id=event_id, event=event)
    row = session.get(ScorecardInputRow, (site.id, year))
    assert row is not None
    return row


def _record(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site_id: UUID,
    event_id: UUID,
    event: Any,
) -> None:
    stream_id = stream_id_for(site_id)
    version = session.execute(
        sa.select(sa.func.max(StoredEvent.version)).where(StoredEvent.stream_id == stream_id)  # type: ignore[arg-type]
    ).scalar()
    Recorder(session, ctx).record(
        actor=actor,
        site_id=site_id,
        stream_type=STREAM_TYPE,
        stream_id=stream_id,
        expected_version=int(version or 0),
        event_id=event_id,
        occurred_at=ctx.clock.now(),
        events=[event],
    )


def evidence_dir(ctx: AppContext) -> Path:
    return ctx.settings.var_dir / "evidence"


def attach_evidence(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site_id: UUID,
    year: int,
    criterion: str,
    event_id: UUID,
    filename: str,
    content_type: str,
    data: bytes,
    description: str | None = None,
) -> ScorecardEvidenceRow:
    actor.require(Permission.scorecard_write)
    site = resolve_site(session=session, actor=actor, site_id=site_id)
    _check_year(year)
    found = load_definition().criterion(criterion)
    if found is None:
        raise InvalidInput(f"unknown criterion {criterion}", field="criterion")
    if not data:
        raise InvalidInput("the file is empty", field="file")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise InvalidInput(
            f"the file exceeds {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB", field="file"
        )
    ctype = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if ctype not in EVIDENCE_TYPES:
        raise InvalidInput(
            f"unsupported file type {ctype}; expected PDF, PNG, JPEG, XLSX, DOCX, TXT or CSV",
            field="file",
        )
    digest = hashlib.sha256(data).hexdigest()
    path = evidence_dir(ctx) / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    name = Path(filename or "evidence").name[:200]
    event = ScorecardEvidenceAttached(
        year=year,
        criterion=criterion,
        sha256=digest,
        filename=name,
        content_type=ctype,
        size=len(data),
        description=description,
    )
    _record(session=session, ctx=ctx, actor=actor, site_id=site.id, event_id=event_id, event=event)
    row = session.get(ScorecardEvidenceRow, event_id)
    if row is None:  # an idempotent replay of another event id's file
        raise InvalidInput("event_id already used", field="event_id")
    return row


def evidence_list(*, session: Session, site_id: UUID, year: int) -> list[ScorecardEvidenceRow]:
    return list(
        session.exec(
            select(ScorecardEvidenceRow)
            .where(ScorecardEvidenceRow.site_id == site_id, ScorecardEvidenceRow.year == year)
            .order_by(ScorecardEvidenceRow.attached_at)  # type: ignore[arg-type]
        )
    )


def evidence_file(
    *, session: Session, ctx: AppContext, actor: Principal, evidence_id: UUID
) -> tuple[ScorecardEvidenceRow, Path]:
    row = session.get(ScorecardEvidenceRow, evidence_id)
    if row is None:
        raise NotFound("evidence not found")
    if actor.role is not Role.admin:
        actor.require_site(row.site_id)
    path = evidence_dir(ctx) / row.sha256[:2] / row.sha256
    if not path.exists():
        raise NotFound("the evidence file is missing from storage", sha256=row.sha256)
    return row, path


# ---------------------------------------------------------------- facts


def facts_for(*, session: Session, site_id: UUID, year: int) -> Facts:
    site = session.get(Site, site_id)
    months = (f"{year}-01", f"{year}-12")
    w = WasteMonthRow
    sums = [
        sa.func.sum(getattr(w, c))
        for c in (
            "generated_count",
            "generated_kg",
            "labelled_before_storage",
            "stored_count",
            "left_count",
            "left_kg",
            "left_received_count",
            "completed_count",
            "completed_kg",
            "traced_count",
            "exempt_count",
            "exempt_kg",
        )
    ]
    rows = session.execute(
        sa.select(w.kind, w.category, w.waste_code, w.method_code, *sums)  # type: ignore[arg-type]
        .where(w.site_id == site_id, w.month.between(*months))  # type: ignore[attr-defined]
        .group_by(w.kind, w.category, w.waste_code, w.method_code)
    ).all()
    waste = tuple(
        WasteFigures(
            kind=r[0],
            category=r[1],
            waste_code=r[2],
            method_code=r[3],
            generated_count=int(r[4] or 0),
            generated_kg=Decimal(r[5] or 0),
            labelled_before_storage=int(r[6] or 0),
            stored_count=int(r[7] or 0),
            left_count=int(r[8] or 0),
            left_kg=Decimal(r[9] or 0),
            left_received_count=int(r[10] or 0),
            completed_count=int(r[11] or 0),
            completed_kg=Decimal(r[12] or 0),
            traced_count=int(r[13] or 0),
            exempt_count=int(r[14] or 0),
            exempt_kg=Decimal(r[15] or 0),
        )
        for r in rows
    )
    t = WasteTransferDayRow
    transfers = tuple(
        TransferFigures(
            day=r.day,
            handler_licence_id=r.handler_licence_id,
            handler_enterprise_id=r.handler_enterprise_id,
            waste_code=r.waste_code,
            method_code=r.method_code,
            lot_count=r.lot_count,
            kg=Decimal(r.kg),
        )
        for r in session.exec(
            select(t).where(
                t.site_id == site_id,
                t.day >= date(year, 1, 1),  # type: ignore[operator]
                t.day <= date(year, 12, 31),  # type: ignore[operator]
            )
        )
    )
    licence_ids = {x.handler_licence_id for x in transfers}
    licences = {}
    if licence_ids:
        for lic in session.exec(
            select(HandlerLicenceRow).where(HandlerLicenceRow.id.in_(licence_ids))  # type: ignore[attr-defined]
        ):
            licences[lic.id] = Licence(
                licence_id=lic.id,
                licence_no=lic.licence_no,
                valid_from=lic.valid_from,
                valid_to=lic.valid_to,
                items=tuple((i["category"], tuple(i.get("waste_codes") or ())) for i in lic.items),
            )
    e = EventDelayMonthRow
    delays: dict[int, int] = {}
    for h, n in session.execute(
        sa.select(e.delay_h, sa.func.sum(e.event_count))  # type: ignore[arg-type]
        .where(e.site_id == site_id, e.month.between(*months))  # type: ignore[attr-defined]
        .group_by(e.delay_h)
    ):
        delays[int(h)] = int(n)
    m = ManifestMonthRow
    dispatched, paper = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(m.dispatched_count), 0),  # type: ignore[arg-type]
            sa.func.coalesce(sa.func.sum(m.paper_count), 0),  # type: ignore[arg-type]
        ).where(
            m.site_id == site_id,
            m.month.between(*months),  # type: ignore[attr-defined]
        )
    ).one()
    plan = session.exec(
        select(ManagementPlanRow).where(
            ManagementPlanRow.site_id == site_id, ManagementPlanRow.year == year
        )
    ).first()
    _, end = year_bounds(year)
    a = AlertRow
    blocks = session.exec(
        select(a.key).where(
            a.site_id == site_id,
            a.severity == "block",
            a.raised_at < end,  # type: ignore[operator]
            sa.or_(a.cleared_at.is_(None), a.cleared_at >= end),  # type: ignore[union-attr,operator]
        )
    ).all()
    facilities = tuple(
        (f.code, f.surface_antiseepage)
        for f in session.exec(select(FacilityRow).where(FacilityRow.site_id == site_id))
    )
    ev_rows = session.execute(
        sa.select(ScorecardEvidenceRow.criterion, sa.func.count())  # type: ignore[arg-type]
        .where(ScorecardEvidenceRow.site_id == site_id, ScorecardEvidenceRow.year == year)
        .group_by(ScorecardEvidenceRow.criterion)
    ).all()
    earlier = sa.func.substr(w.month, 1, 4)
    prior = {
        int(y): Decimal(kg or 0) / 1000
        for y, kg in session.execute(
            sa.select(earlier, sa.func.sum(w.generated_kg - w.exempt_kg))  # type: ignore[arg-type]
            .where(
                w.site_id == site_id,
                w.kind == "hazardous",
                w.month.between(f"{year - 2}-01", f"{year - 1}-12"),  # type: ignore[attr-defined]
            )
            .group_by(earlier)
        )
    }
    return Facts(
        year=year,
        waste=waste,
        transfers=transfers,
        licences=licences,
        delays=delays,
        manifests_dispatched=int(dispatched or 0),
        manifests_paper_backentered=int(paper or 0),
        management_plan_filed=plan is not None and plan.filed_on is not None,
        open_blocking_findings=tuple(sorted(blocks)),
        facilities=facilities,
        evidence={c: int(n) for c, n in ev_rows},
        prior_hazardous_t=prior,
        site_own_facility=bool(site and site.own_disposal_facility),
        site_licensed=bool(site and site.licensed_operator),
    )


@dataclass
class Computed:
    site: Site
    year: int
    card: Scorecard
    inputs: PeriodInputs
    self_assessed: dict[str, Any]
    inputs_row: ScorecardInputRow | None
    computed_at: datetime


def compute(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site_id: UUID | None,
    year: int,
    window_hours: int | None = None,
) -> Computed:
    actor.require(Permission.scorecard_read)
    _check_year(year)
    site = resolve_site(session=session, actor=actor, site_id=site_id)
    facts = facts_for(session=session, site_id=site.id, year=year)
    inputs, assessed, row = inputs_for(session=session, site_id=site.id, year=year)
    card = evaluate(load_definition(), facts, inputs, assessed, window_hours)
    return Computed(site, year, card, inputs, assessed, row, ctx.clock.now())


# ---------------------------------------------------------------- drill-down

# Which lots stand behind each derived criterion: (denominator filter, numerator filter) over
# rm_lot, as SQL expressions of the year's bounds. Counts on rm_lot describe the lots as they
# are now; the aggregates count the steps when they happened (a lot returned and shipped
# again counts twice there, once here).
L = LotRow


def _in(col: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(col >= start, col < end)


def _completed_in(start: datetime, end: datetime) -> Any:
    return sa.and_(
        L.status.in_(["disposed", "utilised"]),  # type: ignore[attr-defined]
        L.completed_on >= start.astimezone(CHINA).date(),  # type: ignore[operator]
        L.completed_on < end.astimezone(CHINA).date(),  # type: ignore[operator]
    )


def drill_filters(criterion: str, start: datetime, end: datetime, d: Definition) -> tuple[Any, Any]:
    hw = L.kind == "hazardous"
    gw = L.kind == "general"
    gen = _in(L.generated_at, start, end)
    cls = d.classes
    if criterion == "e_label_coverage":
        hw = sa.and_(hw, sa.not_(L.exempt))  # the exempt need no label (R61)
        return sa.and_(hw, gen), sa.and_(
            hw,
            gen,
            L.digital_id.is_not(None),  # type: ignore[union-attr]
            L.labelled_at.is_not(None),  # type: ignore[union-attr]
            L.stored_at.is_not(None),  # type: ignore[union-attr]
            L.labelled_at <= L.stored_at,  # type: ignore[operator]
        )
    if criterion in ("manifest_execution", "plan_and_manifests"):
        left = sa.and_(hw, _in(L.shipped_at, start, end))
        return left, sa.and_(left, L.received_at.is_not(None))  # type: ignore[union-attr]
    if criterion in ("general_intensity", "general_stored_by_class", "general_ledger_complete"):
        den = sa.and_(gw, gen)
        if criterion == "general_stored_by_class":
            return den, sa.and_(den, L.stored_at.is_not(None))  # type: ignore[union-attr]
        if criterion == "general_ledger_complete":
            return den, sa.and_(den, L.weight_kg > 0)  # type: ignore[operator]
        return den, den
    if criterion == "hazardous_intensity":
        managed = sa.and_(hw, sa.not_(L.exempt), gen)  # as declared: the exempt left out (R61)
        return managed, managed
    if criterion == "general_utilisation_rate":
        den = sa.and_(gw, gen)
        return den, sa.and_(gw, _completed_in(start, end), L.status == "utilised")
    if criterion == "regeneration_rate":
        regen = sa.or_(
            L.waste_code.in_(cls.get("regeneration_codes", [])),  # type: ignore[union-attr]
            L.category.in_(cls.get("regeneration_categories", [])),  # type: ignore[attr-defined]
        )
        return sa.and_(hw, gen, regen), sa.and_(
            hw,
            regen,
            _completed_in(start, end),
            L.method_code.in_(cls.get("regeneration_methods", [])),  # type: ignore[union-attr]
        )
    if criterion == "point_to_point_cases":
        done = sa.and_(hw, _completed_in(start, end))
        return done, sa.and_(done, L.method_code.in_(cls.get("point_to_point_methods", [])))  # type: ignore[union-attr]
    if criterion == "residue_ash_share":
        res = sa.and_(L.category.in_(cls.get("residue_categories", [])), _completed_in(start, end))  # type: ignore[attr-defined]
        return res, sa.and_(res, L.method_code.in_(cls.get("fuel_fertiliser_methods", [])))  # type: ignore[union-attr]
    if criterion == "licensed_disposal":
        left = sa.and_(hw, _in(L.shipped_at, start, end))
        return left, left
    if criterion in ("expired_bio_incineration", "s_biological_sterilised"):
        bio = sa.or_(
            L.category.in_(cls.get("expired_bio_categories", [])),  # type: ignore[attr-defined]
            L.waste_code.in_(cls.get("expired_bio_codes", [])),  # type: ignore[union-attr]
        )
        if criterion == "s_biological_sterilised":
            return sa.and_(hw, gen, bio), sa.and_(hw, gen, bio)
        done = sa.and_(hw, bio, _completed_in(start, end))
        return done, sa.and_(done, L.method_code.in_(cls.get("incineration_methods", [])))  # type: ignore[union-attr]
    if criterion == "disposal_vs_base":
        done = sa.and_(hw, _completed_in(start, end), L.status == "disposed")
        return done, done
    if criterion == "traceability_coverage":
        done = sa.and_(hw, _completed_in(start, end))
        return done, sa.and_(
            done,
            *(
                c.is_not(None)  # type: ignore[union-attr]
                for c in (L.labelled_at, L.digital_id, L.stored_at, L.shipped_at, L.received_at)
            ),
        )
    if criterion == "data_timeliness":
        return sa.and_(gen), sa.and_(gen)
    raise NotFound(
        f"no drill-down for {criterion}: it is self-assessed or has no lots behind it",
        criterion=criterion,
    )


def drilldown(
    *,
    session: Session,
    actor: Principal,
    site_id: UUID | None,
    year: int,
    criterion: str,
    side: str,
    limit: int,
    offset: int,
) -> tuple[Site, int, int, list[LotRow], set[UUID]]:
    actor.require(Permission.scorecard_read)
    _check_year(year)
    site = resolve_site(session=session, actor=actor, site_id=site_id)
    d = load_definition()
    if d.criterion(criterion) is None:
        raise NotFound(f"unknown criterion {criterion}", criterion=criterion)
    start, end = year_bounds(year)
    den, num = drill_filters(criterion, start, end, d)
    cond = num if side == "numerator" else den
    base = sa.and_(L.site_id == site.id, cond)
    total_den = session.execute(
        sa.select(sa.func.count()).select_from(L).where(L.site_id == site.id, den)  # type: ignore[arg-type]
    ).scalar_one()
    total_num = session.execute(
        sa.select(sa.func.count()).select_from(L).where(L.site_id == site.id, num)  # type: ignore[arg-type]
    ).scalar_one()
    rows = list(
        session.exec(
            select(L).where(base).order_by(L.generated_at, L.lot_id).limit(limit).offset(offset)  # type: ignore[arg-type]
        )
    )
    ids = [r.lot_id for r in rows]
    in_num = (
        set(
            session.execute(
                sa.select(L.lot_id).where(L.lot_id.in_(ids), num)  # type: ignore[attr-defined]
            ).scalars()
        )
        if ids
        else set()
    )
    return site, int(total_num), int(total_den), rows, in_num


# ---------------------------------------------------------------- wire and reports


def lots_url(criterion: str, year: int, site_id: UUID) -> str:
    return f"/api/v1/scorecard/items/{criterion}/lots?year={year}&site_id={site_id}"


def to_wire(c: Computed) -> dict[str, Any]:
    card, d = c.card, c.card.definition
    sections = []
    for s in d.sections:
        sections.append(
            {
                "key": s.key,
                "name": s.name,
                "stated_points": s.stated_points,
                "items_sum": d.section_sum(s.key),
                "score": sum((i.score for i in card.items if i.section == s.key), Decimal(0)),
                "bonus": s.bonus,
            }
        )
    names = {s.key: s.name for s in d.sections}
    items = [
        {
            "no": i.no,
            "key": i.key,
            "section": i.section,
            "section_name": names[i.section],
            "name": i.name,
            "points": i.points,
            "score": i.score,
            "criteria": [
                {
                    "key": r.key,
                    "text": r.text,
                    "points": r.points,
                    "score": r.outcome.score,
                    "source": r.source,
                    "formula": r.formula,
                    "status": r.outcome.status,
                    "numerator": r.outcome.numerator,
                    "denominator": r.outcome.denominator,
                    "unit": r.outcome.unit,
                    "value": r.outcome.value,
                    "threshold": r.outcome.threshold,
                    "note": r.outcome.note,
                    "lots_url": lots_url(r.key, c.year, c.site.id) if r.outcome.drilldown else None,
                }
                for r in i.criteria
            ],
        }
        for i in card.items
    ]
    base = "/api/v1/scorecard/report"
    query = f"?year={c.year}&site_id={c.site.id}"
    return {
        "site_id": c.site.id,
        "site_code": c.site.code,
        "site_name": c.site.name,
        "year": c.year,
        "definition": {"key": d.key, "version": d.version, "title": d.title},
        "computed_at": c.computed_at,
        "timeliness_window_hours": card.timeliness_window_hours,
        "totals": {
            "raw_base": card.raw_base,
            "raw_bonus": card.raw_bonus,
            "raw_total": card.raw_total,
            "table_max_base": d.table_base,
            "table_max_bonus": d.table_bonus,
            "table_max": d.table_base + d.table_bonus,
            "stated_max": d.stated_max,
            "stated_base": d.stated_base,
            "stated_bonus": d.stated_bonus,
            "pass_mark": d.pass_mark,
            "vetoed": card.vetoed,
            "passed": card.passed,
        },
        "inconsistent": bool(card.inconsistencies),
        "inconsistencies": [vars(x) for x in card.inconsistencies],
        "sections": sections,
        "items": items,
        "veto": [vars(v) for v in card.veto],
        "veto_text": d.veto_text,
        "management_class": card.management_class,
        "hgt5902": card.hgt5902,
        "recovery_rate": card.recovery_rate,
        "inputs": c.inputs.model_dump(mode="json", exclude_none=True),
        "self_assessed": c.self_assessed,
        "reports": {"pdf": f"{base}.pdf{query}", "xlsx": f"{base}.xlsx{query}"},
    }


def evidence_read(row: ScorecardEvidenceRow) -> Any:
    from app.scorecard.schemas import EvidenceRead

    return EvidenceRead.model_validate(
        {
            "event_id": row.event_id,
            "criterion": row.criterion,
            "sha256": row.sha256,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
            "description": row.description,
            "attached_at": row.attached_at,
            "download_url": f"/api/v1/scorecard/evidence/{row.event_id}",
        }
    )


def inputs_read(*, session: Session, actor: Principal, site_id: UUID | None, year: int) -> Any:
    from app.scorecard.schemas import InputsRead

    actor.require(Permission.scorecard_read)
    _check_year(year)
    site = resolve_site(session=session, actor=actor, site_id=site_id)
    inputs, assessed, row = inputs_for(session=session, site_id=site.id, year=year)
    return InputsRead(
        site_id=site.id,
        year=year,
        values=inputs.model_dump(mode="json", exclude_none=True),
        self_assessed=assessed,
        entries=row.entries if row else 0,
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
        evidence=[
            evidence_read(e) for e in evidence_list(session=session, site_id=site.id, year=year)
        ],
    )
