"""Console pages for manifests: the list by status, the wizard with live transfer checks, the
manifest page (custody timeline, signatures, PDF, actions and the discrepancy workflow),
and the handlers, carriers and licences page."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.core.errors import status_for
from app.dashboard import service as dashboard
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.domain.errors import DomainError, InvalidInput, NotFound
from app.domain.lot import LotStatus
from app.domain.manifest import (
    HANDOVER_PARTIES,
    HANDOVER_STATUS,
    ManifestStatus,
    Mismatch,
)
from app.domain.rules.transfer import load_transfer_data, transit_overdue_hours
from app.domain.values import WasteKind
from app.exports import service as export_service
from app.identity import service as identity_service
from app.identity.permissions import PORTAL_ROLES, Permission
from app.lots import service as lot_service
from app.manifests import schemas as m
from app.manifests import service as manifest_service
from app.parties import service as party_service
from app.web.auth import WebSession, WebUser, check_csrf
from app.web.charts import track_map
from app.web.i18n import Translator, language
from app.web.render import WebRoute, allow, page
from app.web.routes import _first_error, _sites, _uuid, attempt, findings_of
from app.zones import service as zone_service

router = APIRouter(route_class=WebRoute, include_in_schema=False)

FormStr = Annotated[str, Form()]
OptForm = Annotated[str | None, Form()]
OPEN = [s for s in ManifestStatus if s not in (ManifestStatus.closed, ManifestStatus.cancelled)]


@router.get("/manifests", response_class=HTMLResponse)
def manifests_page(
    request: Request,
    ws: WebUser,
    session: ReadSessionDep,
    ctx: CtxDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    number: Annotated[str | None, Query(max_length=20)] = None,
    site: Annotated[str | None, Query(max_length=40)] = None,
    offset: Offset = 0,
) -> Response:
    allow(ws, "manifests")
    site_id = _uuid(site)
    statuses = [ManifestStatus(status)] if status in ManifestStatus.__members__ else None
    result = manifest_service.list_manifests(
        session=session,
        actor=ws.principal,
        status=statuses,
        site_id=site_id,
        number=number or None,
        limit=50,
        offset=offset,
    )
    counts = dashboard.manifest_counts(session=session, actor=ws.principal, site_id=site_id)
    names = {e.id: e.name for e in identity_service.list_enterprises(session=session)}
    return page(
        request,
        "manifests.html",
        ws,
        section="manifests",
        result=result,
        counts=counts,
        # a handler's or carrier's list never holds a draft (portal scope): no chip for it
        statuses=[
            s
            for s in ManifestStatus
            if s is not ManifestStatus.draft or ws.principal.role not in PORTAL_ROLES
        ],
        status=status or "",
        number=number or "",
        names=names,
        sites=_sites(session, ws),
        site=site_id,
        # what needs doing, for every party: a handler's or carrier's home is this page
        alerts=manifest_service.alerts(
            session=session, ctx=ctx, actor=ws.principal, site_id=site_id
        ),
    )


# ---------------------------------------------------------------- the wizard


WIZARD_LOTS = 500  # the longest-stored lots the wizard offers


def _wizard_options(session: Session, ctx: Any, ws: WebSession, site_id: UUID) -> dict[str, Any]:
    stored = lot_service.list_lots(
        session=session,
        ctx=ctx,
        actor=ws.principal,
        site_id=site_id,
        status=[LotStatus.stored],
        kind=WasteKind.hazardous,
        limit=WIZARD_LOTS,
        nearest_limit_first=True,  # nearest the storage limit: what is shipped first
    )
    by_code: dict[str, list[Any]] = defaultdict(list)
    for lot in stored.items:
        by_code[lot.waste_code or ""].append(lot)
    enterprises = identity_service.list_enterprises(session=session)
    today = ctx.clock.now().date()
    licences = party_service.list_rows(
        session=session, actor=ws.principal, entity="handler_licence"
    )
    return {
        "by_code": dict(sorted(by_code.items())),
        "lots_shown": len(stored.items),
        "lots_stored": stored.total,
        "handlers": [e for e in enterprises if e.kind == "handler"],
        "carriers": [e for e in enterprises if e.kind == "carrier"],
        "licences": licences,
        "approvals": party_service.list_rows(
            session=session, actor=ws.principal, entity="approval"
        ),
        "today": today,
    }


def _create_cmd(form: dict[str, Any]) -> m.ManifestCreate:
    """The wizard's form as the API's create command (the service checks everything)."""
    by_code: dict[str, list[str]] = defaultdict(list)
    for value in form.get("lot", []):
        lot_id, _, code = value.partition("|")
        by_code[code].append(lot_id)
    lines = [
        {
            "waste_code": code,
            "lot_ids": ids,
            "planned_method": (form.get(f"method_{code}") or ["D10"])[0] or "D10",
            "un_number": (form.get(f"un_{code}") or [""])[0].strip().upper() or None,
            "dg_class": (form.get(f"dg_{code}") or [""])[0].strip() or None,
        }
        for code, ids in sorted(by_code.items())
    ]
    one = {k: (v[0] if v else None) for k, v in form.items() if k != "lot"}
    if not lines:
        raise InvalidInput("pick at least one lot", field="lines")
    try:
        return m.ManifestCreate(
            event_id=one.get("event_id") or uuid4(),
            site_id=one.get("site_id"),
            handler_enterprise_id=one.get("handler_enterprise_id") or None,
            handler_licence_id=one.get("handler_licence_id") or None,
            carrier_enterprise_id=one.get("carrier_enterprise_id") or None,
            transfer_approval_id=one.get("transfer_approval_id") or None,
            planned_date=one.get("planned_date") or None,
            emergency_measures=one.get("emergency_measures") or "",
            route=one.get("route") or None,
            lines=lines,
        )
    except ValueError as exc:
        raise InvalidInput(_first_error(exc)) from exc


async def _form_lists(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    out: dict[str, list[str]] = defaultdict(list)
    for key, value in form.multi_items():
        if isinstance(value, str):
            out[key].append(value)
    return dict(out)


def _wizard(
    request: Request,
    ws: WebSession,
    session: Session,
    ctx: Any,
    form: dict[str, list[str]],
    *,
    checks: list[dict[str, Any]] | None = None,
    error: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    sites = _sites(session, ws)
    site_id = _uuid((form.get("site_id") or [None])[0]) or (sites[0].id if sites else None)
    if site_id is None:
        raise InvalidInput("no site in your scope")
    opts = _wizard_options(session, ctx, ws, site_id)
    one = {k: v[0] for k, v in form.items() if v and k != "lot"}
    one.setdefault("planned_date", (opts["today"] + timedelta(days=1)).isoformat())
    one.setdefault("emergency_measures", "泄漏时用吸附棉围堵，联系应急电话；禁止烟火。")
    if not one.get("handler_enterprise_id") and opts["handlers"]:
        # the first handler holding a licence valid today, else the first handler
        licensed = [
            lic.enterprise_id
            for lic in opts["licences"]
            if not lic.revoked and lic.valid_from <= opts["today"] <= lic.valid_to
        ]
        first = next((h for h in opts["handlers"] if h.id in licensed), opts["handlers"][0])
        one["handler_enterprise_id"] = str(first.id)
    if not one.get("carrier_enterprise_id") and opts["carriers"]:
        one["carrier_enterprise_id"] = str(opts["carriers"][0].id)
    return page(
        request,
        "wizard.html",
        ws,
        section="manifests",
        status_code=status_code,
        sites=sites,
        site_id=site_id,
        picked=set(form.get("lot", [])),
        one=one,
        checks=checks,
        error=error,
        error_findings=findings_of(error),
        event_id=one.get("event_id") or uuid4(),
        **opts,
    )


@router.get("/manifests/new", response_class=HTMLResponse)
def wizard_page(
    request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep, site: str | None = None
) -> Response:
    allow(ws, "manifests")
    ws.principal.require(Permission.manifest_write)
    return _wizard(request, ws, session, ctx, {"site_id": [site]} if site else {})


def _run_check(
    session: Session, ctx: Any, ws: WebSession, form: dict[str, list[str]]
) -> tuple[list[dict[str, Any]] | None, DomainError | None]:
    def run() -> list[dict[str, Any]]:
        return manifest_service.check_draft(
            session=session, ctx=ctx, actor=ws.principal, cmd=_create_cmd(form)
        )

    return attempt(session, run)


@router.post("/manifests/new/check", response_class=HTMLResponse)
async def wizard_check(request: Request, ws: WebUser, session: SessionDep, ctx: CtxDep) -> Response:
    """The live checks (an HTML fragment for the wizard's script)."""
    form = await _form_lists(request)
    check_csrf(ws.csrf, (form.get("csrf") or [""])[0])
    allow(ws, "manifests")
    ws.principal.require(Permission.manifest_write)  # as the wizard's page and the API's draft
    checks, error = _run_check(session, ctx, ws, form)
    return page(
        request,
        "_checks.html",
        ws,
        checks=checks,
        error=error,
        error_findings=findings_of(error),
    )


@router.post("/manifests/new", response_class=HTMLResponse)
async def wizard_post(request: Request, ws: WebUser, session: SessionDep, ctx: CtxDep) -> Response:
    form = await _form_lists(request)
    check_csrf(ws.csrf, (form.get("csrf") or [""])[0])
    allow(ws, "manifests")
    ws.principal.require(Permission.manifest_write)
    step = (form.get("step") or ["check"])[0]
    if step == "check" or not form.get("lot"):
        checks, error = _run_check(session, ctx, ws, form)
        status = status_for(error) if error else 200
        return _wizard(
            request, ws, session, ctx, form, checks=checks, error=error, status_code=status
        )

    def create() -> Any:
        cmd = _create_cmd(form)
        result = manifest_service.create_manifest(
            session=session, ctx=ctx, actor=ws.principal, cmd=cmd
        )
        if step == "submit":
            manifest_service.submit(
                session=session,
                ctx=ctx,
                actor=ws.principal,
                manifest_id=result.manifest.manifest_id,
                cmd=m.Action(event_id=uuid4(), expected_version=result.manifest.version),
            )
        return result

    result, error = attempt(session, create)
    if error is not None:
        return _wizard(request, ws, session, ctx, form, error=error, status_code=status_for(error))
    return RedirectResponse(f"/manifests/{result.manifest.manifest_id}", status_code=303)


# ---------------------------------------------------------------- one manifest


def _manifest_page(
    request: Request,
    ws: WebSession,
    session: Session,
    ctx: Any,
    manifest_id: UUID,
    *,
    error: DomainError | None = None,
    failed: str | None = None,
    challenge: Any = None,
    status_code: int = 200,
) -> Response:
    actor = ws.principal
    mf = manifest_service.get_manifest(session=session, actor=actor, manifest_id=manifest_id)
    events = manifest_service.manifest_events(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id
    )
    names = {e.id: e.name for e in identity_service.list_enterprises(session=session)}
    status = mf.status.value
    steps: dict[str, Any] = {}
    if status == "submitted" and mf.viewer_party in ("consignor", "carrier"):

        def rows(entity: str) -> list[Any]:
            return party_service.list_rows(
                session=session, actor=actor, entity=entity, enterprise_id=mf.carrier_enterprise_id
            )

        crew = rows("crew")
        steps["vehicles"] = rows("vehicle")
        steps["drivers"] = [c for c in crew if c.role == "driver"]
        steps["escorts"] = [c for c in crew if c.role == "escort"]
    if status == "received" and mf.viewer_party == "consignor":
        steps["zones"] = zone_service.list_zones(session=session, actor=actor, site_id=mf.site_id)
    track = None
    if mf.track is not None:
        track = manifest_service.track(
            session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, events=events
        )
        gate = (
            (track.facility_lat, track.facility_lon)
            if track.facility_lat is not None and track.facility_lon is not None
            else None
        )
        steps["track_svg"] = track_map(
            [(p.lat, p.lon) for p in track.points],
            gate,
            track.geofence_m,
            title=Translator(language(request))("GPS track"),
        )
    return page(
        request,
        "manifest.html",
        ws,
        section="manifests",
        status_code=status_code,
        mf=mf,
        events=events,
        names=names,
        error=error,
        failed=failed,
        error_findings=findings_of(error),
        event_id=uuid4(),
        today=ctx.clock.now().date(),
        handover=_handover(mf),
        mismatches=list(Mismatch),
        challenge=challenge,
        track=track,
        check_url=manifest_service.roadside_url(
            ctx, str(request.base_url), mf.number, mf.manifest_id
        ),
        alerts=manifest_service.alerts(
            session=session, ctx=ctx, actor=actor, manifest_id=manifest_id
        ),
        **steps,
    )


# What a roadside inspector is told first: does this manifest cover a load on the road now?
ROADSIDE_VERDICT: dict[ManifestStatus, tuple[str, str]] = {
    ManifestStatus.draft: ("bad", "Draft: not submitted, it covers no transport"),
    ManifestStatus.submitted: ("warn", "Submitted: loading has not been signed yet"),
    ManifestStatus.loaded: ("ok", "Loaded: the vehicle below may leave with these wastes"),
    ManifestStatus.in_transit: ("ok", "In transit: this manifest covers the load below"),
    ManifestStatus.received: ("bad", "Trip ended: the receiver signed for the load"),
    ManifestStatus.disposed: ("bad", "Trip ended: the receiver signed for the load"),
    ManifestStatus.closed: ("bad", "Trip ended: the receiver signed for the load"),
    ManifestStatus.cancelled: ("bad", "Cancelled: this manifest covers no transport"),
}


@router.get("/check/{token}", response_class=HTMLResponse)
def roadside_check(request: Request, token: str, session: ReadSessionDep, ctx: CtxDep) -> Response:
    """The roadside check (路检核验) a phone opens from the manifest PDF's second QR code: no
    sign-in; the manifest as the system holds it now, to hold against the paper and the
    vehicle. Not cached, not indexed, and the link is not sent on as a referrer."""
    now, tdata = ctx.clock.now(), load_transfer_data()
    try:
        s = manifest_service.roadside_manifest(session=session, ctx=ctx, token=token)
    except NotFound:
        response = page(request, "check.html", None, status_code=404, checked_at=now)
    else:
        response = page(
            request,
            "check.html",
            None,
            m=s,
            doc=export_service.manifest_doc(session, s, now),
            verdict=ROADSIDE_VERDICT[s.status],
            overdue_hours=transit_overdue_hours(tdata, s.status, s.dispatched_at, now),
            overdue_limit=tdata.transit_overdue_hours,
            checked_at=now,
        )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _handover(mf: Any) -> dict[str, Any] | None:
    """The handover open in this status, who signed it, and what the viewer's party may do."""
    status, party = mf.status.value, mf.viewer_party
    step = next((k for k, v in HANDOVER_STATUS.items() if v.value == status), None)
    if step is None:
        return None
    parties = [p.value for p in HANDOVER_PARTIES[step]]
    signed = {s.party.value: s for s in mf.signatures if s.step is step}
    mine = party if party in parties else None
    other = next((p for p in parties if p != mine), None) if mine else None
    return {
        "step": step.value,
        "parties": parties,
        "signed": signed,
        "mine": mine,
        "other": other,
        "i_signed": mine in signed,
        "other_signed": other in signed,
    }


@router.get("/manifests/{manifest_id}", response_class=HTMLResponse)
def manifest_page(
    request: Request, manifest_id: UUID, ws: WebUser, session: ReadSessionDep, ctx: CtxDep
) -> Response:
    allow(ws, "manifests")
    return _manifest_page(request, ws, session, ctx, manifest_id)


@router.get("/manifests/{manifest_id}/manifest.pdf")
def manifest_pdf(
    manifest_id: UUID, request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep
) -> Response:
    allow(ws, "manifests")
    pdf, filename = export_service.manifest_pdf(
        session=session,
        ctx=ctx,
        actor=ws.principal,
        manifest_id=manifest_id,
        base_url=str(request.base_url),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


ACTIONS = {
    "submit",
    "cancel",
    "close",
    "confirm",
    "correction",
    "load",
    "sign",
    "challenge",
    "dispatch",
    "receive",
    "return",
    "dispose",
}


def _manifest_command(
    action: str, one: dict[str, str], form: dict[str, list[str]], kw: dict[str, Any]
) -> Any:
    """The form as the API's command for `action`, sent to the same service function."""
    env = {"event_id": one.get("event_id") or uuid4(), "expected_version": one.get("version")}
    code = (one.get("counterpart_code") or "").strip() or None
    lot_ids = form.get("lot_id", [])
    if action == "submit":
        return manifest_service.submit(cmd=m.Action(**env), **kw)
    if action == "close":
        return manifest_service.close(cmd=m.Action(**env), **kw)
    if action == "cancel":
        return manifest_service.cancel(
            cmd=m.ManifestCancel(**env, reason=one.get("reason", "")), **kw
        )
    if action == "correction":
        field = one.get("field", "")
        return manifest_service.request_correction(
            cmd=m.CorrectionRequest(
                **env, changes={field: one.get("value", "")}, reason=one.get("reason", "")
            ),
            **kw,
        )
    if action == "load":
        return manifest_service.load(
            cmd=m.ManifestLoad(
                **env,
                scanned=form.get("scanned", []),
                vehicle_id=one.get("vehicle_id", ""),
                driver_id=one.get("driver_id", ""),
                escort_id=one.get("escort_id", ""),
                dg_waybill_no=one.get("dg_waybill_no") or None,
                passengers=one.get("passengers") or 0,
            ),
            **kw,
        )
    if action == "sign":
        return manifest_service.sign(
            cmd=m.ManifestSign(**env, step=one.get("step", ""), code=code), **kw
        )
    if action == "dispatch":
        return manifest_service.dispatch(cmd=m.HandoverAction(**env, counterpart_code=code), **kw)
    if action == "receive":
        lots = [
            {
                "lot_id": lot_id,
                "received_kg": one.get(f"received_{lot_id}", ""),
                "mismatches": form.get(f"mismatch_{lot_id}", []),
            }
            for lot_id in lot_ids
        ]
        methods = {
            int(k.removeprefix("method_line_")): v.strip()
            for k, v in one.items()
            if k.startswith("method_line_") and v.strip()
        }
        return manifest_service.receive(
            cmd=m.ManifestReceive(
                **env,
                counterpart_code=code,
                lots=lots,
                method_codes=methods,
                notes=one.get("notes") or None,
            ),
            **kw,
        )
    if action == "return":
        return manifest_service.return_lots(
            cmd=m.ManifestReturn(
                **env,
                lot_ids=form.get("return_lot", []),
                zone_id=one.get("zone_id", ""),
                reason=one.get("reason", ""),
            ),
            **kw,
        )
    if action == "dispose":
        done = [
            {
                "lot_id": lot_id,
                "method_code": one.get(f"method_{lot_id}", ""),
                "completed_on": one.get(f"completed_{lot_id}", ""),
            }
            for lot_id in form.get("dispose_lot", [])
        ]
        return manifest_service.dispose(cmd=m.ManifestDispose(**env, lots=done), **kw)
    # confirm: the handler's decision on each lot resolves a discrepancy
    decisions = []
    for lot_id in lot_ids:
        accepted = one.get(f"accepted_{lot_id}") or None
        decisions.append(
            {
                "lot_id": lot_id,
                "outcome": one.get(f"outcome_{lot_id}", "accepted"),
                "accepted_kg": Decimal(accepted) if accepted else None,
                "method_code": one.get(f"method_{lot_id}") or None,
            }
        )
    notified = one.get("consignor_notified_at")
    return manifest_service.confirm(
        cmd=m.ManifestConfirm(
            **env,
            lots=decisions,
            consignor_notified_at=f"{notified}:00+08:00" if notified else None,
            eeb_report_ref=one.get("eeb_report_ref") or None,
            notes=one.get("notes") or None,
        ),
        **kw,
    )


@router.post("/manifests/{manifest_id}/act", response_class=HTMLResponse)
async def manifest_action(
    request: Request, manifest_id: UUID, ws: WebUser, session: SessionDep, ctx: CtxDep
) -> Response:
    form = await _form_lists(request)
    one = {k: v[0] for k, v in form.items() if v}
    check_csrf(ws.csrf, one.get("csrf"))
    allow(ws, "manifests")
    action = one.get("action", "")
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action}")
    kw: dict[str, Any] = {
        "session": session,
        "ctx": ctx,
        "actor": ws.principal,
        "manifest_id": manifest_id,
    }

    def run() -> Any:
        try:
            if action == "challenge":
                return manifest_service.issue_challenge(
                    cmd=m.ChallengeCreate(step=one.get("step", "")), **kw
                )
            return _manifest_command(action, one, form, kw)
        except (ValueError, InvalidOperation) as exc:
            raise InvalidInput(_first_error(exc)) from exc

    result, error = attempt(session, run)
    if error is None and action == "challenge":
        # the one-time code is shown on this answer only
        response = _manifest_page(request, ws, session, ctx, manifest_id, challenge=result)
        response.headers["Cache-Control"] = "no-store"
        return response
    if error is None:
        return RedirectResponse(f"/manifests/{manifest_id}", status_code=303)
    return _manifest_page(
        request,
        ws,
        session,
        ctx,
        manifest_id,
        error=error,
        failed=action,
        status_code=status_for(error),
    )


# ---------------------------------------------------------------- parties


@router.get("/parties", response_class=HTMLResponse)
def parties_page(request: Request, ws: WebUser, session: ReadSessionDep, ctx: CtxDep) -> Response:
    allow(ws, "parties")
    actor = ws.principal
    today = ctx.clock.now().date()
    enterprises = identity_service.list_enterprises(session=session)
    names = {e.id: e.name for e in enterprises}

    def rows(entity: str) -> list[Any]:
        return party_service.list_rows(session=session, actor=actor, entity=entity)

    return page(
        request,
        "parties.html",
        ws,
        section="parties",
        today=today,
        soon=today + timedelta(days=60),
        names=names,
        handlers=[e for e in enterprises if e.kind == "handler"],
        carriers=[e for e in enterprises if e.kind == "carrier"],
        handler_licences=rows("handler_licence"),
        carrier_licences=rows("carrier_licence"),
        vehicles=rows("vehicle"),
        crew=rows("crew"),
        contracts=rows("contract"),
        approvals=rows("approval"),
    )
