"""The EHS manager console: server-rendered pages over the same services as the API.

Thin routes: each page parses its query or form, calls service functions, and renders a
template. Writes go through the same use cases as `/api/v1` (the rules, scope and permission
checks live there); a refused write is shown on the page with its findings. Every form post
carries the session's CSRF token.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.alerts import service as alert_service
from app.core.errors import status_for
from app.core.security import decode_token
from app.dashboard import service as dashboard
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.domain.errors import DomainError, InvalidInput, RuleViolation, Unauthenticated
from app.domain.lot import LotStatus
from app.domain.values import (
    GENERAL_CATEGORIES,
    ContainerCondition,
    Role,
    WasteKind,
    china_date,
)
from app.identity import service as identity_service
from app.identity.permissions import Permission
from app.labelling import service as labelling_service
from app.labelling.routes import inline
from app.lots import schemas as lot_schemas
from app.lots import service as lot_service
from app.manifests import service as manifest_service
from app.rules import service as rule_service
from app.web import charts
from app.web.auth import (
    LOGIN_CSRF_COOKIE,
    WebSession,
    WebUser,
    check_csrf,
    clear_session,
    login_csrf,
    session_token,
    set_session,
)
from app.web.i18n import LANG_COOKIE, Translator, language
from app.web.render import WebRoute, allow, home_for, page, zone_label
from app.zones import service as zone_service

router = APIRouter(route_class=WebRoute, include_in_schema=False)

FormStr = Annotated[str, Form()]
OptForm = Annotated[str | None, Form()]


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def _sites(session: Session, ws: WebSession) -> list[Any]:
    """The sites a picker offers: those in the user's scope (the enterprise's other sites are
    listed by `GET /api/v1/sites`, but picking one would only be refused)."""
    actor = ws.principal
    sites = identity_service.list_sites(session=session, actor=actor)
    return [s for s in sites if actor.role is Role.admin or actor.can_access_site(s.id)]


def _site_codes(sites: list[Any]) -> dict[UUID, str]:
    """Codes of the sites (from `_sites`: already the user's scope) for labels like
    "SZ01 · A1"."""
    return {s.id: s.code for s in sites}


def _uuid(value: str | None) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"not an id: {value}") from exc


def attempt(session: Session, action: Any) -> tuple[Any, DomainError | None]:
    """Run a use case inside a savepoint: on a domain error nothing it wrote survives, and the
    error comes back to be shown on the page. A command the form's values do not make (the
    schema refuses one: too long, blank, out of range) is such an error: 422 with the reason."""
    savepoint = session.begin_nested()
    try:
        try:
            result = action()
        except ValidationError as exc:
            raise InvalidInput(_first_error(exc)) from exc
    except DomainError as exc:
        savepoint.rollback()
        return None, exc
    savepoint.commit()
    return result, None


def findings_of(exc: DomainError | None) -> list[dict[str, Any]]:
    if isinstance(exc, RuleViolation):
        return list(exc.findings)
    if exc is not None:
        return list(exc.details.get("violations", []) or [])
    return []


# ---------------------------------------------------------------- sign-in and language


@router.get("/", response_class=HTMLResponse)
def index(ws: WebUser) -> Response:
    return RedirectResponse(home_for(ws.principal.role), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    token = login_csrf(request)
    response = page(request, "login.html", None, login_csrf=token, next=_safe_next(next) or "")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", path="/login")
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: ReadSessionDep,
    ctx: CtxDep,
    username: FormStr,
    password: FormStr,
    csrf: OptForm = None,
    next: OptForm = None,
) -> Response:
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf)
    try:
        issued = identity_service.issue_token(
            session=session,
            ctx=ctx,
            username=username,
            password=password,
            client=request.client.host if request.client else None,
        )
    except Unauthenticated:
        t = Translator(language(request))
        return page(
            request,
            "login.html",
            None,
            status_code=401,
            login_csrf=csrf,
            next=_safe_next(next) or "",
            error=t("Wrong username or password"),
            username=username,
        )
    s = ctx.settings
    claims = decode_token(
        issued.access_token,
        secret=s.effective_jwt_secret,
        audience=s.auth.audience,
        issuer=s.auth.issuer,
        token_type="user",
    )
    token, max_age = session_token(ctx, UUID(claims["sub"]))
    target = _safe_next(next) or home_for(issued.role)
    response = RedirectResponse(target, status_code=303)
    set_session(response, request, token, max_age)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(ws: WebUser, csrf: OptForm = None) -> Response:
    check_csrf(ws.csrf, csrf)
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response


@router.get("/lang")
def switch_language(to: str = "zh", next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next) or "/", status_code=303)
    if to in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, to, max_age=365 * 86400, samesite="lax", path="/")
    return response


# ---------------------------------------------------------------- dashboard


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep, site: str | None = None
) -> Response:
    if ws.principal.role in (Role.handler, Role.transporter):
        return RedirectResponse("/manifests", status_code=303)
    allow(ws, "dashboard")
    actor = ws.principal
    site_id = _uuid(site)
    now = ctx.clock.now()
    t = Translator(language(request))
    warn_days, limit_days = rule_service.rule_data(ctx).storage_days()
    licensed = dashboard.licensed_sites(session, actor, site_id)
    summary = dashboard.storage_summary(
        session=session,
        actor=actor,
        now=now,
        site_id=site_id,
        warn_days=warn_days,
        limit_days=limit_days,
        licensed=licensed,
    )
    ages = dashboard.age_histogram(
        session=session, actor=actor, now=now, licensed=licensed, site_id=site_id
    )
    months = dashboard.monthly_trend(session=session, actor=actor, now=now, site_id=site_id)
    counts = dashboard.manifest_counts(session=session, actor=actor, site_id=site_id)
    open_manifests = sum(n for s, n in counts.items() if s in dashboard.OPEN_MANIFEST)
    m_alerts = manifest_service.alerts(session=session, ctx=ctx, actor=actor, site_id=site_id)
    overdue = sum(1 for a in m_alerts if a.rule_id == "R50")
    total_alerts, alerts = alert_service.list_alerts(
        session=session, actor=actor, site_id=site_id, limit=12
    )
    zones = zone_service.list_zones(session=session, actor=actor, site_id=site_id)
    sites = _sites(session, ws)
    codes = _site_codes(sites) if site_id is None else {}
    capacity = charts.capacity_bars(
        [
            (
                zone_label(f"{z.code} {z.name}", z.site_id, codes),
                float(z.weight_kg),
                float(z.capacity_kg) if z.capacity_kg else None,
                (
                    f"{float(z.weight_kg) / 1000:,.1f} / {float(z.capacity_kg) / 1000:,.0f} t "
                    f"({100 * float(z.weight_kg) / float(z.capacity_kg):.0f}%)"
                    if z.capacity_kg
                    else f"{float(z.weight_kg) / 1000:,.1f} t · {t('no capacity set')}"
                ),
            )
            for z in zones
        ],
        title=t("Inventory by zone"),
        empty=t("None"),
    )
    histogram = charts.histogram(
        [(label, n) for label, n, _ in ages],
        title=t("Hazardous waste storage age (days)"),
        danger_from=6,
    )
    trend = charts.trend(
        [m.month for m in months],
        [
            (t("Generated"), [float(m.generated_kg) / 1000 for m in months]),
            (t("Shipped"), [float(m.shipped_kg) / 1000 for m in months]),
            (t("Disposed"), [float(m.disposed_kg) / 1000 for m in months]),
        ],
        title=t("Monthly trend (t)"),
    )
    scores = dashboard.scorecard_tiles(
        session=session,
        ctx=ctx,
        actor=actor,
        year=(now + timedelta(hours=8)).year,
        site_ids=[site_id] if site_id else [s.id for s in sites],
    )
    return page(
        request,
        "dashboard.html",
        ws,
        section="dashboard",
        sites=sites,
        site=site_id,
        summary=summary,
        open_manifests=open_manifests,
        overdue=overdue,
        open_findings=total_alerts + len(m_alerts),  # what the alert list below lists
        manifest_alerts=m_alerts[:8],
        alerts=alerts,
        site_codes=codes,  # several sites in view: each alert names its own ("A1" is ambiguous)
        scores=scores,
        capacity=capacity,
        histogram=histogram,
        trend=trend,
    )


# ---------------------------------------------------------------- lots


PAGE = 50


@router.get("/lots", response_class=HTMLResponse)
def lots_page(
    request: Request,
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=8)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    zone: str | None = None,
    site: str | None = None,
    min_age: Annotated[str | None, Query(max_length=5)] = None,
    due: Annotated[str | None, Query(max_length=1)] = None,
    offset: Offset = 0,
) -> Response:
    allow(ws, "lots")
    statuses = [LotStatus(status)] if status in LotStatus.__members__ else None
    waste_kind = WasteKind(kind) if kind in WasteKind.__members__ else None
    aged_since = None
    if min_age and min_age.isdigit():  # days in storage, as the age column shows
        aged_since = ctx.clock.now() - timedelta(days=int(min_age))
        statuses = statuses or [LotStatus.stored, LotStatus.allocated]
    result = lot_service.list_lots(
        session=session,
        ctx=ctx,
        actor=ws.principal,
        site_id=_uuid(site),
        status=statuses,
        kind=waste_kind,
        category=category or None,
        zone_id=_uuid(zone),
        aged_since=aged_since,
        storage_due=due == "1",
        q=q or None,
        limit=PAGE,
        offset=offset,
    )
    zones = zone_service.list_zones(session=session, actor=ws.principal)
    sites = _sites(session, ws)
    params = {
        k: v
        for k, v in {
            "q": q,
            "category": category,
            "status": status,
            "kind": waste_kind.value if waste_kind else None,
            "zone": zone,
            "site": site,
            "min_age": min_age,
            "due": due if due == "1" else None,
        }.items()
        if v
    }
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return page(
        request,
        "lots.html",
        ws,
        section="lots",
        result=result,
        zones=zones,
        sites=sites,
        site_codes=_site_codes(sites),
        statuses=list(LotStatus),
        f=params,
        base_query=query,
        days=_storage_days(ctx),
        now=ctx.clock.now(),
        today=china_date(ctx.clock.now()),  # a storage extension runs through its last day
        page_size=PAGE,
    )


def _lot_page(
    request: Request,
    ws: WebSession,
    session: Session,
    ctx: Any,
    lot_id: UUID,
    *,
    error: DomainError | None = None,
    action: str | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    lot = lot_service.get_lot(session=session, ctx=ctx, actor=ws.principal, lot_id=lot_id)
    events = lot_service.lot_events(session=session, ctx=ctx, actor=ws.principal, lot_id=lot_id)
    zones = [
        z for z in zone_service.list_zones(session=session, actor=ws.principal, site_id=lot.site_id)
    ]
    zone_codes = {str(z.zone_id): z.code for z in zones}  # event payloads hold ids as text
    weights = [
        (e.occurred_at, e.payload.get("weight_kg"), e.type)
        for e in events
        if e.type in ("lot.generated", "lot.weighed", "lot.repacked") and e.payload.get("weight_kg")
    ]
    return page(
        request,
        "lot.html",
        ws,
        section="lots",
        status_code=status_code,
        lot=lot,
        events=events,
        zones=zones,
        zone_codes=zone_codes,
        weights=weights,
        error=error,
        error_findings=findings_of(error),
        failed_action=action,
        done=done,
        conditions=list(ContainerCondition),
        event_id=uuid4(),
        now=ctx.clock.now(),
        today=china_date(ctx.clock.now()),
        days=_storage_days(ctx),
    )


@router.get("/lots/{lot_id}", response_class=HTMLResponse)
def lot_page(
    request: Request,
    lot_id: UUID,
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    done: str | None = None,
) -> Response:
    allow(ws, "lots")
    return _lot_page(request, ws, session, ctx, lot_id, done=done)


LOT_ACTIONS = {"label", "store", "move", "weigh", "inspect", "reprint", "extend", "discard"}


@router.post("/lots/{lot_id}/act", response_class=HTMLResponse)
def lot_action(
    request: Request,
    lot_id: UUID,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    action: FormStr,
    event_id: FormStr,
    expected_version: Annotated[int, Form()],
    csrf: OptForm = None,
    zone_id: OptForm = None,
    weight_kg: OptForm = None,
    condition: OptForm = None,
    reason: OptForm = None,
    override_reason: OptForm = None,
    approval_no: OptForm = None,
    authority: OptForm = None,
    approved_on: OptForm = None,
    extended_until: OptForm = None,
    discarded_on: OptForm = None,
    note: OptForm = None,
) -> Response:
    check_csrf(ws.csrf, csrf)
    allow(ws, "lots")
    # as the API's lot routes declare: the storage extension is an EHS manager's (lot:correct)
    ws.principal.require(Permission.lot_correct if action == "extend" else Permission.lot_write)
    if action not in LOT_ACTIONS:
        raise InvalidInput(f"unknown action {action}")
    actor = ws.principal
    env: dict[str, Any] = {
        "event_id": event_id,
        "expected_version": expected_version,
        "override_reason": (override_reason or "").strip() or None,
    }

    def run() -> Any:
        kw: dict[str, Any] = {"session": session, "ctx": ctx, "actor": actor, "lot_id": lot_id}
        try:
            if action == "label":
                return lot_service.label_lot(cmd=lot_schemas.LotLabel(**env), **kw)
            if action == "store":
                return lot_service.store_lot(
                    cmd=lot_schemas.LotStore(**env, zone_id=_uuid(zone_id)), **kw
                )
            if action == "move":
                return lot_service.move_lot(
                    cmd=lot_schemas.LotMove(**env, zone_id=_uuid(zone_id)), **kw
                )
            if action == "weigh":
                return lot_service.weigh_lot(
                    cmd=lot_schemas.LotWeigh(**env, weight_kg=Decimal(weight_kg or "")), **kw
                )
            if action == "inspect":
                return lot_service.inspect_lot(
                    cmd=lot_schemas.LotInspect(
                        **env, condition=condition or "intact", notes=reason or None
                    ),
                    **kw,
                )
            if action == "extend":
                return lot_service.extend_storage(
                    cmd=lot_schemas.LotStorageExtension(
                        **env,
                        approval_no=approval_no or "",
                        authority=authority or "",
                        approved_on=approved_on or "",
                        extended_until=extended_until or "",
                        note=(note or "").strip() or None,
                    ),
                    **kw,
                )
            if action == "discard":
                return lot_service.discard_lot(
                    cmd=lot_schemas.LotDiscard(
                        **env, discarded_on=discarded_on or "", note=(note or "").strip() or None
                    ),
                    **kw,
                )
            return lot_service.reprint_label(
                cmd=lot_schemas.LotReprint(**env, reason=reason or ""), **kw
            )
        except (ValueError, InvalidOperation) as exc:  # pydantic or Decimal refused the form
            raise InvalidInput(_first_error(exc)) from exc

    _, error = attempt(session, run)
    if error is None:
        return RedirectResponse(f"/lots/{lot_id}?done={action}", status_code=303)
    return _lot_page(
        request, ws, session, ctx, lot_id, error=error, action=action, status_code=status_for(error)
    )


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        items = errors()
        if items:
            loc = ".".join(str(p) for p in items[0].get("loc", ()))
            return f"{loc}: {items[0].get('msg', '')}"
    return str(exc) or "invalid input"


@router.get("/lots/{lot_id}/label.pdf")
def lot_label_pdf(lot_id: UUID, ws: WebUser, session: ReadSessionDep, ctx: CtxDep) -> Response:
    allow(ws, "lots")
    return inline(
        labelling_service.label_pdf(session=session, ctx=ctx, actor=ws.principal, lot_id=lot_id)
    )


@router.get("/lots/{lot_id}/qr.png")
def lot_qr(lot_id: UUID, ws: WebUser, session: ReadSessionDep) -> Response:
    allow(ws, "lots")
    return inline(labelling_service.qr_png(session=session, actor=ws.principal, lot_id=lot_id))


@router.get("/lots/{lot_id}/barcode.svg")
def lot_barcode(lot_id: UUID, ws: WebUser, session: ReadSessionDep) -> Response:
    allow(ws, "lots")
    return inline(labelling_service.barcode_svg(session=session, actor=ws.principal, lot_id=lot_id))


# ---------------------------------------------------------------- zones


@router.get("/zones", response_class=HTMLResponse)
def zones_page(
    request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep, site: str | None = None
) -> Response:
    allow(ws, "zones")
    actor = ws.principal
    zones = zone_service.list_zones(session=session, actor=actor, site_id=_uuid(site))
    facilities = zone_service.list_facilities(session=session, ctx=ctx, actor=actor)
    zone_sites = _sites(session, ws)
    data = rule_service.rule_data(ctx)
    t = Translator(language(request))
    groups: dict[UUID, list[str]] = {}
    for z in zones:
        names: set[str] = set()
        for mix in rule_service.zone_contents(session, z.zone_id).mixes:
            names |= data.groups_of(mix.category, mix.hazards, mix.properties)
        groups[z.zone_id] = sorted(t.pick(*data.group_label(g)) for g in names)
    return page(
        request,
        "zones.html",
        ws,
        section="zones",
        zones=zones,
        facilities=facilities,
        groups=groups,
        categories=_category_names(ctx),
        sites=zone_sites,
        site_codes=_site_codes(zone_sites) if not site else {},
        site=site,
        now=ctx.clock.now(),
        event_ids={z.zone_id: uuid4() for z in zones},  # one per zone's inspection form
    )


def _storage_days(ctx: Any) -> dict[str, int]:
    """The rule set's storage-age marks (R32): the warning day, the limit, and the lead between
    them (R32/R33 warn that long before an extension's last day too)."""
    warn_days, limit_days = rule_service.rule_data(ctx).storage_days()
    return {"warn_days": warn_days, "limit_days": limit_days, "lead_days": limit_days - warn_days}


def _category_names(ctx: Any) -> dict[str, str]:
    names = {c.category: c.category_name for c in ctx.catalogue.all()}
    names.update(GENERAL_CATEGORIES)
    return names


@router.post("/zones/{zone_id}/inspect", response_class=HTMLResponse)
def zone_inspect(
    request: Request,
    zone_id: UUID,
    ws: WebUser,
    session: SessionDep,
    ctx: CtxDep,
    event_id: FormStr,
    csrf: OptForm = None,
    notes: OptForm = None,
) -> Response:
    check_csrf(ws.csrf, csrf)
    allow(ws, "zones")
    ws.principal.require(Permission.lot_write)  # as the API's inspection route declares
    from app.zones import schemas as zone_schemas

    try:
        cmd = zone_schemas.ZoneInspect(
            event_id=_uuid(event_id) or uuid4(), items=[], notes=notes or None
        )
    except ValidationError as exc:  # notes over the limit, say: the reason, not a 500
        raise InvalidInput(_first_error(exc)) from exc
    zone_service.inspect_zone(
        session=session, ctx=ctx, actor=ws.principal, zone_id=zone_id, cmd=cmd
    )
    return RedirectResponse("/zones", status_code=303)


@router.get("/facilities/{facility_id}/sign.pdf")
def facility_sign(facility_id: UUID, ws: WebUser, session: ReadSessionDep, ctx: CtxDep) -> Response:
    allow(ws, "zones")
    return inline(
        labelling_service.facility_sign_pdf(
            session=session, ctx=ctx, actor=ws.principal, facility_id=facility_id
        )
    )


@router.get("/zones/{zone_id}/sign.pdf")
def zone_sign(zone_id: UUID, ws: WebUser, session: ReadSessionDep, ctx: CtxDep) -> Response:
    allow(ws, "zones")
    return inline(
        labelling_service.zone_sign_pdf(
            session=session, ctx=ctx, actor=ws.principal, zone_id=zone_id
        )
    )
