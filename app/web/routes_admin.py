"""Console pages for the scorecard, exports, audit and administration."""

from __future__ import annotations

import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as Path_
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from sqlmodel import Session
from starlette.background import BackgroundTask

from app.audit import jobs as audit_jobs
from app.audit import service as audit_service
from app.core.errors import status_for
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.domain.errors import DomainError, InvalidInput, TooManyRequests
from app.domain.values import Role
from app.exports import service as export_service
from app.exports.schemas import DeclarationFilingCreate
from app.identity import devices as device_service
from app.identity import schemas as identity_schemas
from app.identity import service as identity_service
from app.identity.permissions import Permission
from app.rules import service as rule_service
from app.scorecard import service as scorecard_service
from app.web import scorecard
from app.web.auth import WebSession, WebUser, check_csrf
from app.web.render import WebRoute, allow, page
from app.web.routes import _first_error, _sites, _uuid, attempt

router = APIRouter(route_class=WebRoute, include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- scorecard


def _scorecard_site(session: Session, ws: WebSession, site: str | None) -> tuple[list[Any], Any]:
    sites = _sites(session, ws)
    return sites, _uuid(site) or (sites[0].id if sites else None)


def _scorecard_page(
    request: Request,
    ws: WebSession,
    session: Session,
    ctx: Any,
    *,
    year: int | None,
    site: str | None,
    error: DomainError | None = None,
    failed: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    year = year or (ctx.clock.now() + timedelta(hours=8)).year
    sites, site_id = _scorecard_site(session, ws, site)
    available, card, card_error = scorecard.card(
        session=session, ctx=ctx, actor=ws.principal, year=year, site_id=site_id
    )
    if card_error is not None and status_code == 200:
        status_code = status_for(card_error)  # another site's: 404, as on /exports
    inputs = None
    if card is not None:
        inputs = scorecard_service.inputs_read(
            session=session, actor=ws.principal, site_id=site_id, year=year
        )
    return page(
        request,
        "scorecard.html",
        ws,
        section="scorecard",
        status_code=status_code,
        year=year,
        sites=sites,
        site=str(site_id or ""),
        available=available,
        card=card,
        error=card_error,
        inputs=inputs,
        fields=scorecard.input_fields(),
        site_defaults=scorecard.site_defaults(sites, site_id),
        assessed=scorecard.self_assessed_criteria(card) if card else [],
        evidence_counts=scorecard.evidence_counts(inputs),
        routes=scorecard.ROUTES,
        route_labels=scorecard.ROUTE_LABELS,
        form_error=error,
        failed=failed,
        done=done,
        event_id=uuid4(),
    )


@router.get("/scorecard", response_class=HTMLResponse)
def scorecard_page(
    request: Request,
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    site: str | None = None,
    done: str | None = None,
) -> Response:
    """The year's scorecard with its drill-downs, the period inputs and the evidence files."""
    allow(ws, "scorecard")
    return _scorecard_page(request, ws, session, ctx, year=year, site=site, done=done)


def _back_to_scorecard(site_id: UUID, year: int, done: str) -> Response:
    return RedirectResponse(f"/scorecard?site={site_id}&year={year}&done={done}", status_code=303)


@router.post("/scorecard/inputs", response_class=HTMLResponse)
async def scorecard_inputs(
    request: Request, ws: WebUser, session: SessionDep, ctx: CtxDep
) -> Response:
    """The period inputs form: only the fields that changed are recorded (one event)."""
    form = await request.form()
    one = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(ws.csrf, one.get("csrf"))
    allow(ws, "scorecard")
    ws.principal.require(Permission.scorecard_write)  # as the API's inputs route declares
    site_id = _uuid(one.get("site"))
    if site_id is None:
        raise InvalidInput("pick a site", field="site_id")
    year = scorecard.form_year(one.get("year"))

    def run() -> Any:
        current = scorecard_service.inputs_read(
            session=session, actor=ws.principal, site_id=site_id, year=year
        )
        _, card, _ = scorecard.card(
            session=session, ctx=ctx, actor=ws.principal, year=year, site_id=site_id
        )
        values, assessed = scorecard.changed_inputs(
            one, current, scorecard.self_assessed_criteria(card) if card else []
        )
        if not values and not assessed and not one.get("note"):
            return None
        return scorecard_service.record_inputs(
            session=session,
            ctx=ctx,
            actor=ws.principal,
            site_id=site_id,
            year=year,
            event_id=_uuid(one.get("event_id")) or uuid4(),
            values=values,
            self_assessed=assessed,
            note=(one.get("note") or "").strip() or None,
        )

    _, error = attempt(session, run)
    part = "assessment" if one.get("part") == "assessment" else "inputs"
    if error is None:
        return _back_to_scorecard(site_id, year, part)
    return _scorecard_page(
        request,
        ws,
        session,
        ctx,
        year=year,
        site=str(site_id),
        error=error,
        failed=part,
        status_code=status_for(error),
    )


@router.post("/scorecard/evidence", response_class=HTMLResponse)
async def scorecard_evidence(
    request: Request,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    site: Annotated[str, Form()],
    year: Annotated[int, Form(ge=2000, le=2100)],
    criterion: Annotated[str, Form(max_length=64)],
    event_id: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form(max_length=300)] = None,
) -> Response:
    """Attach an evidence file to a self-assessed criterion (the API's service call)."""
    check_csrf(ws.csrf, csrf)
    allow(ws, "scorecard")
    ws.principal.require(Permission.scorecard_write)
    site_id = _uuid(site)
    if site_id is None:
        raise InvalidInput("pick a site", field="site")
    data = await file.read(scorecard_service.MAX_EVIDENCE_BYTES + 1)

    def run() -> Any:
        return scorecard_service.attach_evidence(
            session=session,
            ctx=ctx,
            actor=ws.principal,
            site_id=site_id,
            year=year,
            criterion=criterion,
            event_id=_uuid(event_id) or uuid4(),
            filename=file.filename or "evidence",
            content_type=file.content_type or "",
            data=data,
            description=(description or "").strip() or None,
        )

    _, error = attempt(session, run)
    if error is None:
        return _back_to_scorecard(site_id, year, "evidence")
    return _scorecard_page(
        request,
        ws,
        session,
        ctx,
        year=year,
        site=str(site_id),
        error=error,
        failed="evidence",
        status_code=status_for(error),
    )


@router.get("/scorecard/evidence/{evidence_id}")
def scorecard_evidence_file(
    evidence_id: UUID, ws: WebUser, session: ReadSessionDep, ctx: CtxDep
) -> Response:
    allow(ws, "scorecard")
    ws.principal.require(Permission.scorecard_read)
    row, path = scorecard_service.evidence_file(
        session=session, ctx=ctx, actor=ws.principal, evidence_id=evidence_id
    )
    return FileResponse(path, media_type=row.content_type, filename=row.filename)


DRILL_PAGE = 50


@router.get("/scorecard/items/{criterion}/lots", response_class=HTMLResponse)
def scorecard_item_lots(
    request: Request,
    criterion: Annotated[str, Path_(max_length=64)],
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    site: str | None = None,
    side: Literal["denominator", "numerator"] = "denominator",
    offset: Offset = 0,
) -> Response:
    """The lots behind a criterion's ratio (the API's drill-down), as a page."""
    allow(ws, "scorecard")
    found, num, den, rows, in_num = scorecard_service.drilldown(
        session=session,
        actor=ws.principal,
        site_id=_uuid(site),
        year=year,
        criterion=criterion,
        side=side,
        limit=DRILL_PAGE,
        offset=offset,
    )
    return page(
        request,
        "scorecard_lots.html",
        ws,
        section="scorecard",
        criterion=criterion,
        text=scorecard.criterion_text(criterion),
        year=year,
        site=found,
        side=side,
        numerator=num,
        denominator=den,
        rows=rows,
        in_num=in_num,
        total=num if side == "numerator" else den,
        offset=offset,
        page_size=DRILL_PAGE,
        base_query=f"year={year}&site={found.id}&side={side}",
        now=ctx.clock.now(),
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
    return _exports_page(request, ws, session, ctx, site=site, period=period)


def _exports_page(
    request: Request,
    ws: WebSession,
    session: Session,
    ctx: Any,
    *,
    site: str | None,
    period: str | None,
    filing_error: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    actor = ws.principal
    sites = _sites(session, ws)
    site_id = _uuid(site) or (sites[0].id if sites else None)
    today = (ctx.clock.now() + timedelta(hours=8)).date()
    period = period or str(today.year - 1)
    declaration: Any = None
    calendar: Any = None
    error: DomainError | None = None
    if site_id is not None:
        try:
            declaration = export_service.declaration(
                session=session, ctx=ctx, actor=actor, site_id=site_id, period=period
            )
        except DomainError as exc:
            error = exc
        calendar = export_service.declaration_calendar(
            session=session, ctx=ctx, actor=actor, site_id=site_id
        )
    run = audit_service.latest_run(session=session, actor=actor)  # recorded: not recomputed here
    return page(
        request,
        "exports.html",
        ws,
        section="exports",
        status_code=status_code,
        sites=sites,
        site_id=site_id,
        period=period,
        start=date(today.year, 1, 1),
        end=today,
        today=today,
        declaration=declaration,
        calendar=calendar,
        error=error,
        filing_error=filing_error,
        event_id=uuid4(),
        run=run,
    )


@router.post("/exports/declaration/filings", response_class=HTMLResponse)
def file_declaration(
    request: Request,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    site: Annotated[str, Form()],
    period: Annotated[str, Form(max_length=7)],
    filed_on: Annotated[date, Form()],
    receipt_no: Annotated[str, Form(max_length=64)],
    event_id: Annotated[str, Form()],
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Record a filed declaration from the calendar (the API's service call)."""
    check_csrf(ws.csrf, csrf)
    allow(ws, "exports")
    ws.principal.require(Permission.declaration_file)
    site_id = _uuid(site)
    if site_id is None:
        raise InvalidInput("pick a site", field="site_id")

    def run() -> Any:
        return export_service.file_declaration(
            session=session,
            ctx=ctx,
            actor=ws.principal,
            cmd=DeclarationFilingCreate(
                event_id=_uuid(event_id) or uuid4(),
                site_id=site_id,
                period=period,
                filed_on=filed_on,
                receipt_no=receipt_no,
            ),
        )

    _, error = attempt(session, run)
    if error is None:
        return RedirectResponse(f"/exports?site={site_id}#calendar", status_code=303)
    return _exports_page(
        request,
        ws,
        session,
        ctx,
        site=str(site_id),
        period=None,
        filing_error=error,
        status_code=status_for(error),
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
    if site_id is None:
        raise InvalidInput("pick a site", field="site")
    export_service.require_export_site(ws.principal, site_id)

    def lines():  # type: ignore[no-untyped-def]
        with ctx.db.session(write=False) as session:
            yield from export_service.log_lines(session=session, ctx=ctx, site_id=site_id)

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="log-{site_id}.jsonl"'},
    )


# The change trail's words on the audit page, Chinese and English (`t.pick`).
CHANGE_LABELS: dict[str, tuple[str, str]] = {
    "enterprise": ("企业", "enterprise"),
    "site": ("厂区", "site"),
    "user": ("用户", "user"),
    "device": ("手持终端", "handheld"),
    "created": ("创建", "created"),
    "updated": ("修改", "updated"),
    "revoked": ("吊销", "revoked"),
    "password_reset": ("重置密码", "password reset"),
    "role": ("角色", "role"),
    "site_ids": ("授权厂区", "sites"),
    "all_sites": ("全部厂区", "all sites"),
    "is_active": ("启用", "active"),
    "display_name": ("姓名", "name"),
    "revoked_at": ("吊销时间", "revoked at"),
    "revoked_by": ("吊销人", "revoked by"),
    "cli": ("命令行", "command line"),
    "other": ("其他单位用户", "a user of another organisation"),
    "title": ("身份与权限变更", "Identity and access changes"),
    "who": ("操作人", "By"),
    "record": ("对象", "Record"),
    "change": ("变更", "Change"),
    "none": ("暂无变更记录", "No changes recorded"),
    "more": (
        "最近 20 条；全部变更（含处置与运输单位）见 GET /api/v1/audit/changes",
        "the latest 20; every change, parties' too, at GET /api/v1/audit/changes",
    ),
}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ws: WebUser, session: ReadSessionDep) -> Response:
    """The last recorded verification (a million events take seconds to recompute, so the page
    shows the record; "verify now" recomputes), the signed checkpoints, and the latest identity
    and access changes (who created or changed a user, a site, a handheld, and when)."""
    allow(ws, "audit")
    return _audit_page(request, ws, session)


def _audit_page(
    request: Request,
    ws: WebSession,
    session: Session,
    *,
    refused: TooManyRequests | None = None,
) -> Response:
    actor = ws.principal
    run = audit_service.latest_run(session=session, actor=actor)
    checkpoints = audit_service.list_checkpoints(session=session, actor=actor, site_id=None)
    sites = {str(s.id): s for s in identity_service.list_sites(session=session, actor=actor)}
    changes = audit_service.list_changes(
        session=session, actor=actor, entities=audit_service.IDENTITY_ENTITIES, limit=20
    ).items
    return page(
        request,
        "audit.html",
        ws,
        section="audit",
        run=run,
        checkpoints=checkpoints[-20:],
        sites=sites,
        changes=changes,
        labels=CHANGE_LABELS,
        refused=refused,
        status_code=429 if refused else 200,
    )


@router.post("/audit/verify")
def audit_verify(
    request: Request, ws: WebUser, ctx: CtxDep, csrf: Annotated[str | None, Form()] = None
) -> Response:
    """Verify every chain now and record the run (read-only roles too: it changes no record of
    the plant's, and an auditor is who needs it). Asked again too soon, or while a run is under
    way, the page says so and shows the last run."""
    check_csrf(ws.csrf, csrf)
    allow(ws, "audit")
    try:
        audit_jobs.verify_on_request(ctx, trigger="console", actor=ws.principal)
    except TooManyRequests as exc:
        with ctx.db.session(write=False) as session:
            return _audit_page(request, ws, session, refused=exc)
    return RedirectResponse("/audit#verify", status_code=303)


# ---------------------------------------------------------------- administration


def _admin_page(
    request: Request,
    ws: WebSession,
    session: Session,
    ctx: Any,
    *,
    error: DomainError | None = None,
    failed: str | None = None,
    form: dict[str, Any] | None = None,
    enrolled: tuple[Any, Any] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    actor = ws.principal
    sites = identity_service.list_sites(session=session, actor=actor)
    data = rule_service.rule_data(ctx)
    profiles = {s.id: rule_service.site_profile(session, s.id) for s in sites}
    enterprises = identity_service.list_enterprises(session=session)
    return page(
        request,
        "admin.html",
        ws,
        section="admin",
        status_code=status_code,
        users=identity_service.list_users(session=session),
        devices=device_service.list_devices(session=session, actor=actor),
        sites=sites,
        profiles=profiles,
        enterprises=enterprises,
        names={e.id: e.name for e in enterprises},
        site_names={s.id: s.code for s in sites},
        roles=list(Role),
        rule_set=data.version,
        rules=rule_service.catalogue(ctx=ctx)["rules"],
        error=error,
        failed=failed,
        form=form or {},
        enrolled=enrolled,
        done=done,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep, done: str | None = None
) -> Response:
    allow(ws, "admin")
    return _admin_page(request, ws, session, ctx, done=done)


@router.post("/admin/users", response_class=HTMLResponse)
async def admin_create_user(
    request: Request, ws: WebUser, session: SessionDep, ctx: CtxDep
) -> Response:
    """Create a user with a role and sites (the API's `POST /api/v1/users`)."""
    form = await request.form()
    one = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(ws.csrf, one.get("csrf"))
    allow(ws, "admin")
    ws.principal.require(Permission.user_admin)  # as the API's user routes declare

    def run() -> Any:
        try:
            cmd = identity_schemas.UserCreate(
                username=one.get("username", "").strip(),
                display_name=one.get("display_name", "").strip(),
                password=one.get("password", ""),
                role=one.get("role", ""),
                enterprise_id=one.get("enterprise_id", ""),
                all_sites=one.get("all_sites") == "on",
                site_ids=[v for v in form.getlist("site_ids") if isinstance(v, str) and v],
            )
        except ValueError as exc:
            raise InvalidInput(_first_error(exc)) from exc
        return identity_service.create_user(session=session, ctx=ctx, cmd=cmd, actor=ws.principal)

    _, error = attempt(session, run)
    if error is None:
        return RedirectResponse("/admin?done=user#users", status_code=303)
    kept = {k: v for k, v in one.items() if k not in ("password", "csrf")}
    kept["site_ids"] = [v for v in form.getlist("site_ids") if isinstance(v, str)]
    return _admin_page(
        request,
        ws,
        session,
        ctx,
        error=error,
        failed="user",
        form=kept,
        status_code=status_for(error),
    )


@router.post("/admin/devices", response_class=HTMLResponse)
def admin_enrol_device(
    request: Request,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    site_id: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=100)],
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Enrol a handheld for a site; its device token is shown on this answer only."""
    check_csrf(ws.csrf, csrf)
    allow(ws, "admin")

    def run() -> Any:
        site = _uuid(site_id)
        if site is None:
            raise InvalidInput("pick a site", field="site_id")
        if not name.strip():
            raise InvalidInput("name the device", field="name")
        return device_service.enrol_device(
            session=session, ctx=ctx, actor=ws.principal, site_id=site, name=name
        )

    enrolled, error = attempt(session, run)
    if error is not None:
        return _admin_page(
            request,
            ws,
            session,
            ctx,
            error=error,
            failed="device",
            form={"site_id": site_id, "name": name},
            status_code=status_for(error),
        )
    response = _admin_page(request, ws, session, ctx, enrolled=enrolled)
    response.headers["Cache-Control"] = "no-store"  # the token is shown once
    return response


@router.post("/admin/devices/{device_id}/revoke", response_class=HTMLResponse)
def admin_revoke_device(
    request: Request,
    device_id: UUID,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Revoke a device: its tokens are refused from the next request on."""
    check_csrf(ws.csrf, csrf)
    allow(ws, "admin")
    device_service.revoke_device(session=session, ctx=ctx, actor=ws.principal, device_id=device_id)
    return RedirectResponse("/admin?done=revoked#devices", status_code=303)


@router.post("/admin/sites/{site_id}/profile", response_class=HTMLResponse)
def admin_site_profile(
    request: Request,
    site_id: UUID,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    csrf: Annotated[str | None, Form()] = None,
    licensed_operator: Annotated[str | None, Form()] = None,
    own_disposal_facility: Annotated[str | None, Form()] = None,
    spot_max_days: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """The site's rule profile (the API's `PATCH /api/v1/sites/{id}`): an operating licence
    (R32: storage ≤ 1 year blocks), an own utilisation/disposal facility (HJ 1259 4.2.1: a
    key-supervision unit) and how long waste may stay at a 贮存点 (R34). A checkbox left
    unticked is "no"; an empty number clears it. On the change trail, as from the API."""
    check_csrf(ws.csrf, csrf)
    allow(ws, "admin")
    ws.principal.require(Permission.site_admin)  # as the API's site route declares
    days = (spot_max_days or "").strip()

    def run() -> Any:
        if days and not days.isdigit():
            raise InvalidInput("spot_max_days: a whole number of days", field="spot_max_days")
        cmd = identity_schemas.SiteUpdate(
            licensed_operator=licensed_operator == "on",
            own_disposal_facility=own_disposal_facility == "on",
            spot_max_days=int(days) if days else None,
        )
        return identity_service.update_site(
            session=session, ctx=ctx, site_id=site_id, cmd=cmd, actor=ws.principal
        )

    _, error = attempt(session, run)
    if error is None:
        return RedirectResponse("/admin?done=site#sites", status_code=303)
    return _admin_page(
        request, ws, session, ctx, error=error, failed="site", status_code=status_for(error)
    )


__all__ = ["UUID", "router"]
