"""Console pages for the scorecard, exports, audit and administration."""

from __future__ import annotations

import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from app.audit import service as audit_service
from app.deps import CtxDep, ReadSessionDep
from app.domain.errors import DomainError, InvalidInput
from app.exports import service as export_service
from app.identity import devices as device_service
from app.identity import service as identity_service
from app.rules import service as rule_service
from app.web import scorecard
from app.web.auth import WebUser
from app.web.render import WebRoute, allow, page
from app.web.routes import _uuid

router = APIRouter(route_class=WebRoute, include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- scorecard


@router.get("/scorecard", response_class=HTMLResponse)
def scorecard_page(
    request: Request,
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    site: str | None = None,
) -> Response:
    """The scorecard (issue 7) when its service is installed; otherwise says so."""
    allow(ws, "scorecard")
    year = year or (ctx.clock.now() + timedelta(hours=8)).year
    sites = identity_service.list_sites(session=session, actor=ws.principal)
    site_id = _uuid(site) or (sites[0].id if sites else None)
    available, card, error = scorecard.card(
        session=session, ctx=ctx, actor=ws.principal, year=year, site_id=site_id
    )
    return page(
        request,
        "scorecard.html",
        ws,
        section="scorecard",
        year=year,
        sites=sites,
        site=str(site_id or ""),
        available=available,
        card=card,
        error=error,
    )


# ---------------------------------------------------------------- exports and audit


def _period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    try:
        s = date.fromisoformat(start) if start else date(today.year, 1, 1)
        e = date.fromisoformat(end) if end else today
    except ValueError as exc:
        raise InvalidInput("dates are YYYY-MM-DD") from exc
    return s, e


@router.get("/exports", response_class=HTMLResponse)
def exports_page(
    request: Request,
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    site: str | None = None,
    period: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    allow(ws, "exports")
    actor = ws.principal
    sites = identity_service.list_sites(session=session, actor=actor)
    site_id = _uuid(site) or (sites[0].id if sites else None)
    today = (ctx.clock.now() + timedelta(hours=8)).date()
    period = period or str(today.year - 1)
    declaration: Any = None
    error: DomainError | None = None
    if site_id is not None:
        try:
            declaration = export_service.declaration(
                session=session, ctx=ctx, actor=actor, site_id=site_id, period=period
            )
        except DomainError as exc:
            error = exc
    verify = audit_service.verify(session=session, ctx=ctx, actor=actor)
    return page(
        request,
        "exports.html",
        ws,
        section="exports",
        sites=sites,
        site_id=site_id,
        period=period,
        start=date(today.year, 1, 1),
        end=today,
        declaration=declaration,
        error=error,
        verify=verify,
    )


@router.get("/exports/ledger.xlsx")
def ledger_xlsx(
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    site: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    allow(ws, "exports")
    s, e = _period(start, end, ctx.clock.now().date())
    fd, name = tempfile.mkstemp(suffix=".xlsx", prefix="ledger-")
    os.close(fd)
    path = Path(name)
    try:
        export_service.ledger_xlsx(
            session=session, actor=ws.principal, site_id=_uuid(site), start=s, end=e, path=path
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=XLSX,
        filename=f"ledger-{s}-{e}.xlsx",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/exports/log.jsonl")
def log_export(ws: WebUser, ctx: CtxDep, site: str) -> Response:
    allow(ws, "exports")
    site_id = _uuid(site)
    assert site_id is not None
    export_service.require_export_site(ws.principal, site_id)

    def lines():  # type: ignore[no-untyped-def]
        with ctx.db.session(write=False) as session:
            yield from export_service.log_lines(session=session, ctx=ctx, site_id=site_id)

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="log-{site_id}.jsonl"'},
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep) -> Response:
    allow(ws, "audit")
    actor = ws.principal
    verify = audit_service.verify(session=session, ctx=ctx, actor=actor)
    checkpoints = audit_service.list_checkpoints(session=session, actor=actor, site_id=None)
    sites = {str(s.id): s for s in identity_service.list_sites(session=session, actor=actor)}
    return page(
        request,
        "audit.html",
        ws,
        section="audit",
        verify=verify,
        checkpoints=checkpoints[-20:],
        sites=sites,
    )


# ---------------------------------------------------------------- administration


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep) -> Response:
    allow(ws, "admin")
    actor = ws.principal
    sites = identity_service.list_sites(session=session, actor=actor)
    data = rule_service.rule_data(ctx)
    profiles = {s.id: rule_service.site_profile(session, s.id) for s in sites}
    return page(
        request,
        "admin.html",
        ws,
        section="admin",
        users=identity_service.list_users(session=session),
        devices=device_service.list_devices(session=session, actor=actor),
        sites=sites,
        profiles=profiles,
        names={e.id: e.name for e in identity_service.list_enterprises(session=session)},
        site_names={s.id: s.code for s in sites},
        rule_set=data.version,
        rules=rule_service.catalogue(ctx=ctx)["rules"],
    )


__all__ = ["UUID", "router"]
