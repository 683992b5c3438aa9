"""Regulator exports (`/api/v1/exports`): HJ 1259 ledger (XLSX, CSV), periodic declaration,
and the log as JSON Lines with chain hashes and signed checkpoints."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.exports import schemas
from app.exports import service as export_service
from app.identity.deps import require
from app.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], route_class=CheckedRoute)

Reader = require(Permission.export_read)
Filer = require(Permission.declaration_file)
ERRORS = error_responses(401, 403, 404, 422)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
From = Annotated[date, Query(alias="from", description="first day (China time)")]
To = Annotated[date, Query(alias="to", description="last day, inclusive")]


@router.get(
    "/ledger.xlsx", response_class=FileResponse, responses={200: {"content": {XLSX: {}}}, **ERRORS}
)
def ledger_xlsx(
    start: From, end: To, actor: Reader, session: ReadSessionDep, site_id: UUID | None = None
) -> FileResponse:
    """The HJ 1259 ledger: generation (HWCS), storage-in (HWRK), storage-out (HWCK), own and
    off-site utilisation/disposal (HWWWLY / HWWWCZ) records, one row per container, in t.
    Written row by row to a temporary file (bounded memory), then sent."""
    fd, name = tempfile.mkstemp(suffix=".xlsx", prefix="ledger-")
    os.close(fd)
    path = Path(name)
    try:
        export_service.ledger_xlsx(
            session=session, actor=actor, site_id=site_id, start=start, end=end, path=path
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=XLSX,
        filename=f"hj1259-ledger-{start}-{end}.xlsx",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get(
    "/ledger.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **ERRORS},
)
def ledger_csv(
    start: From, end: To, actor: Reader, ctx: CtxDep, site_id: UUID | None = None
) -> StreamingResponse:
    """The same ledger as one CSV (UTF-8 with BOM), streamed; a column names the sheet."""
    lines = export_service.ledger_csv(ctx=ctx, actor=actor, site_id=site_id, start=start, end=end)
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hj1259-ledger-{start}-{end}.csv"'},
    )


@router.get("/declaration", responses=ERRORS)
def declaration(
    site_id: UUID,
    period: Annotated[str, Query(description="YYYY-MM, YYYYQn or YYYY", max_length=7)],
    actor: Reader,
    session: ReadSessionDep,
    ctx: CtxDep,
) -> dict[str, Any]:
    """The periodic declaration (HJ 1259 §7): opening stock, generated, shipped per handler
    and method, closing stock, for the site's management class and its cycle (R60)."""
    return export_service.declaration(
        session=session, ctx=ctx, actor=actor, site_id=site_id, period=period
    )


@router.get("/declaration/filings", response_model=schemas.DeclarationCalendar, responses=ERRORS)
def declaration_filings(
    site_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> schemas.DeclarationCalendar:
    """The site's declarations of the last twelve months on its class's cycles: each period's
    due date and status (filed, overdue, due within the warning days, open) (R60)."""
    return export_service.declaration_calendar(
        session=session, ctx=ctx, actor=actor, site_id=site_id
    )


@router.post(
    "/declaration/filings",
    response_model=schemas.DeclarationCalendar,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422),
)
def file_declaration(
    cmd: schemas.DeclarationFilingCreate, actor: Filer, session: SessionDep, ctx: CtxDep
) -> schemas.DeclarationCalendar:
    """Record that the declaration for a period was filed in the national system, with its
    receipt number; the period's R60 alert clears. Filing a period again records a corrected
    declaration. A repeated `event_id` is an idempotent replay."""
    return export_service.file_declaration(session=session, ctx=ctx, actor=actor, cmd=cmd)


@router.get(
    "/log.jsonl",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}, **ERRORS},
)
def log_export(site_id: UUID, actor: Reader, ctx: CtxDep) -> StreamingResponse:
    """A site's whole event log as JSON Lines with chain hashes and signed checkpoints. Check
    it offline: `hazchain verify-export FILE --key site.pem` or the standalone
    `GET /api/v1/exports/verify_export.py` (standard library + pyjwt)."""
    export_service.require_export_site(actor, site_id)

    def lines():  # type: ignore[no-untyped-def]
        with ctx.db.session(write=False) as session:
            yield from export_service.log_lines(session=session, ctx=ctx, site_id=site_id)

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="hazchain-log-{site_id}.jsonl"'},
    )


@router.get("/verify_export.py", response_class=Response, responses=error_responses(404))
def verify_script() -> Response:
    """The standalone offline verifier (Python standard library + pyjwt)."""
    from reports import verify_export

    return Response(
        Path(verify_export.__file__).read_bytes(),
        media_type="text/x-python; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="verify_export.py"'},
    )
