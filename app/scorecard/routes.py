"""The no-waste factory scorecard (`/api/v1/scorecard`): the year's scorecard live from the
aggregates, the lots behind each ratio, period inputs and evidence, PDF and XLSX reports."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse, Response

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.scorecard import reports as scorecard_reports
from app.scorecard import schemas
from app.scorecard import service as scorecard_service

router = APIRouter(prefix="/api/v1/scorecard", tags=["scorecard"], route_class=CheckedRoute)

Reader = require(Permission.scorecard_read)
Writer = require(Permission.scorecard_write)
ERRORS = error_responses(401, 403, 404, 422)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Year = Annotated[int, Query(ge=2000, le=2100)]
Window = Annotated[
    int | None, Query(ge=1, le=24 * 30, description="timeliness window in hours (default 24)")
]


@router.get("", response_model=schemas.ScorecardRead, responses=ERRORS)
def scorecard(
    year: Year,
    actor: Reader,
    session: ReadSessionDep,
    ctx: CtxDep,
    site_id: UUID | None = None,
    window_hours: Window = None,
) -> schemas.ScorecardRead:
    """The year's scorecard: every item and criterion with points, numerator, denominator and
    a drill-down link; the veto; the raw total against the table's own maximum and the
    inconsistency flag; HJ 1259 class, HG/T 5902 ratios, Q/CTS recovery rate."""
    c = scorecard_service.compute(
        session=session, ctx=ctx, actor=actor, site_id=site_id, year=year, window_hours=window_hours
    )
    return schemas.ScorecardRead.model_validate(scorecard_service.to_wire(c))


@router.get("/items/{criterion}/lots", response_model=schemas.DrillPage, responses=ERRORS)
def item_lots(
    criterion: str,
    year: Year,
    actor: Reader,
    session: ReadSessionDep,
    site_id: UUID | None = None,
    side: Literal["denominator", "numerator"] = "denominator",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> schemas.DrillPage:
    """The lots behind a criterion's denominator (default) or numerator, each flagged
    `in_numerator`, with a link to its events."""
    site, num, den, rows, in_num = scorecard_service.drilldown(
        session=session,
        actor=actor,
        site_id=site_id,
        year=year,
        criterion=criterion,
        side=side,
        limit=limit,
        offset=offset,
    )
    return schemas.DrillPage(
        criterion=criterion,
        year=year,
        site_id=site.id,
        side=side,
        numerator_lots=num,
        denominator_lots=den,
        note="lots as they are now (rm_lot); the scorecard counts steps when they happened",
        total=num if side == "numerator" else den,
        items=[
            schemas.DrillLot.model_validate(
                {
                    **{k: getattr(r, k) for k in schemas.DrillLot.model_fields if hasattr(r, k)},
                    "in_numerator": r.lot_id in in_num,
                    "events_url": f"/api/v1/lots/{r.lot_id}/events",
                }
            )
            for r in rows
        ],
    )


@router.get("/inputs", response_model=schemas.InputsRead, responses=ERRORS)
def get_inputs(
    year: Year, actor: Reader, session: ReadSessionDep, site_id: UUID | None = None
) -> schemas.InputsRead:
    """The period inputs and self-assessment of a site and year, with the evidence files."""
    return scorecard_service.inputs_read(session=session, actor=actor, site_id=site_id, year=year)


@router.post("/inputs", response_model=schemas.InputsRead, responses=ERRORS)
def put_inputs(
    cmd: schemas.InputsWrite, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.InputsRead:
    """EHS manager: record period inputs and self-assessed values (merged field by field over
    earlier entries; each entry is an event on the site's scorecard stream)."""
    scorecard_service.record_inputs(
        session=session,
        ctx=ctx,
        actor=actor,
        site_id=cmd.site_id,
        year=cmd.year,
        event_id=cmd.event_id,
        values=cmd.values,
        self_assessed=cmd.self_assessed,
        note=cmd.note,
    )
    return scorecard_service.inputs_read(
        session=session, actor=actor, site_id=cmd.site_id, year=cmd.year
    )


@router.post(
    "/evidence",
    response_model=schemas.EvidenceRead,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def post_evidence(
    actor: Writer,
    session: SessionDep,
    ctx: CtxDep,
    event_id: Annotated[UUID, Form()],
    site_id: Annotated[UUID, Form()],
    year: Annotated[int, Form(ge=2000, le=2100)],
    criterion: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
    description: Annotated[str | None, Form(max_length=300)] = None,
) -> schemas.EvidenceRead:
    """Attach a file (PDF, image, XLSX, DOCX, TXT, CSV; ≤ 20 MiB) to a self-assessed
    criterion. Stored once by SHA-256; the attachment is an event."""
    data = await file.read(scorecard_service.MAX_EVIDENCE_BYTES + 1)
    row = scorecard_service.attach_evidence(
        session=session,
        ctx=ctx,
        actor=actor,
        site_id=site_id,
        year=year,
        criterion=criterion,
        event_id=event_id,
        filename=file.filename or "evidence",
        content_type=file.content_type or "",
        data=data,
        description=description,
    )
    return scorecard_service.evidence_read(row)


@router.get("/evidence/{evidence_id}", response_class=FileResponse, responses=ERRORS)
def get_evidence(
    evidence_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> FileResponse:
    """Download an evidence file."""
    row, path = scorecard_service.evidence_file(
        session=session, ctx=ctx, actor=actor, evidence_id=evidence_id
    )
    return FileResponse(path, media_type=row.content_type, filename=row.filename)


@router.get(
    "/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **ERRORS},
)
def report_pdf(
    year: Year, actor: Reader, session: ReadSessionDep, ctx: CtxDep, site_id: UUID | None = None
) -> Response:
    """The scorecard as a PDF report in Chinese, with charts."""
    c = scorecard_service.compute(session=session, ctx=ctx, actor=actor, site_id=site_id, year=year)
    body = scorecard_reports.pdf(c)
    name = f"scorecard-{c.site.code}-{year}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/report.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}, **ERRORS}
)
def report_xlsx(
    year: Year, actor: Reader, session: ReadSessionDep, ctx: CtxDep, site_id: UUID | None = None
) -> Response:
    """The scorecard as a workbook: items, ratios, inconsistencies, inputs."""
    c = scorecard_service.compute(session=session, ctx=ctx, actor=actor, site_id=site_id, year=year)
    body = scorecard_reports.xlsx(c)
    name = f"scorecard-{c.site.code}-{year}.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
