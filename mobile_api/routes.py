"""Handheld API (`/mobile/v1`) and the handheld page (`/m`): thin routes over
`mobile_api.service` and `mobile_api.sync`."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.core.throttle import client_address
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.labelling.routes import file_responses, inline
from mobile_api import schemas
from mobile_api import service as mobile_service
from mobile_api import sync as sync_service
from mobile_api.deps import CurrentDevice, DeviceReader, DeviceReading, DeviceWriter

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(prefix="/mobile/v1", tags=["mobile"], route_class=CheckedRoute)
page_router = APIRouter(include_in_schema=False, route_class=CheckedRoute)

SiteAdmin = require(Permission.site_admin)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


# ---------------------------------------------------------------- devices (admin, user token)


@router.post(
    "/devices",
    response_model=schemas.DeviceEnrolled,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 422),
)
def enrol_device(
    cmd: schemas.DeviceEnrol, actor: SiteAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.DeviceEnrolled:
    """Enrol a handheld for a site (admin). The answer holds the device token, shown once."""
    return mobile_service.enrol_device(session=session, ctx=ctx, actor=actor, cmd=cmd)


@router.get(
    "/devices", response_model=list[schemas.DeviceRead], responses=error_responses(401, 403)
)
def list_devices(actor: SiteAdmin, session: ReadSessionDep) -> list[schemas.DeviceRead]:
    return mobile_service.list_devices(session=session, actor=actor)


@router.post(
    "/devices/{device_id}/revoke",
    response_model=schemas.DeviceRead,
    responses=error_responses(401, 403, 404),
)
def revoke_device(
    device_id: UUID, actor: SiteAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.DeviceRead:
    """Revoke a device: its tokens are refused from the next request on."""
    return mobile_service.revoke_device(session=session, ctx=ctx, actor=actor, device_id=device_id)


# ---------------------------------------------------------------- on the device (device token)


@router.post(
    "/auth/sign-in",
    response_model=schemas.SessionRead,
    responses=error_responses(401, 403, 422, 429),
)
def sign_in(
    cmd: schemas.SignIn,
    device: CurrentDevice,
    session: ReadSessionDep,
    ctx: CtxDep,
    request: Request,
) -> schemas.SessionRead:
    """An operator signs in on an enrolled device (send the device's enrolment token).
    Failed sign-ins are throttled per username and per address (429 with Retry-After)."""
    return mobile_service.sign_in(
        session=session, ctx=ctx, device=device, cmd=cmd, client=client_address(request)
    )


@router.get("/context", response_model=schemas.DeviceContext, responses=error_responses(401, 403))
def context(actor: DeviceReader, session: ReadSessionDep, ctx: CtxDep) -> schemas.DeviceContext:
    """Who is signed in on which device, and the site's zones."""
    return mobile_service.device_context(session=session, ctx=ctx, actor=actor)


@router.get(
    # `:path`: a scanned link (the manifest's roadside-check QR code) carries slashes.
    "/scan/{code:path}",
    response_model=schemas.ScanResult,
    responses=error_responses(401, 403, 404, 422),
)
async def scan(
    code: str,
    reading: DeviceReading,
    ctx: CtxDep,
    lot_id: UUID | None = None,
    zone_id: UUID | None = None,
) -> Response:
    """Resolve a scan (lot digital ID, QR or Code 128 payload, zone code, manifest number or
    its roadside-check link) and list the next actions, each checked by the rules now.
    `lot_id` / `zone_id`: what the device scanned before, so storing that lot in this zone (or
    this lot in that zone) is checked."""

    # The handheld's hot path, in one trip to a thread: session, operator, scan and the JSON.
    # A sync route takes a second trip for FastAPI to check the answer against its model.
    def answer() -> str:
        with reading.open() as (session, actor):
            result = mobile_service.scan(
                session=session, ctx=ctx, actor=actor, code=code, lot_id=lot_id, zone_id=zone_id
            )
        return result.model_dump_json()

    body = await to_thread.run_sync(answer, limiter=_scan_threads(ctx.settings.mobile.scan_threads))
    return Response(body, media_type="application/json")


# The scans' own threads (`MOBILE__SCAN_THREADS`), one pool per event loop, as anyio keeps
# its default pool.
_SCAN_THREADS: RunVar[CapacityLimiter] = RunVar("hazchain_scan_threads")


def _scan_threads(size: int) -> CapacityLimiter:
    try:
        return _SCAN_THREADS.get()
    except LookupError:
        limiter = CapacityLimiter(size)
        _SCAN_THREADS.set(limiter)
        return limiter


@router.post("/actions", response_model=schemas.ItemResult, responses=WRITE_ERRORS)
def act(
    item: schemas.MobileAction, actor: DeviceWriter, session: SessionDep, ctx: CtxDep
) -> schemas.ItemResult:
    """One action, online: generate (answers the label URL), label, weigh, store, move,
    inspect, repack, inspect_zone, load, receive. Errors answer with their HTTP status."""
    return mobile_service.perform(session=session, ctx=ctx, actor=actor, item=item)


@router.post("/sync", response_model=schemas.SyncResult, responses=error_responses(401, 403, 422))
def sync(
    batch: schemas.SyncRequest, actor: DeviceWriter, session: SessionDep, ctx: CtxDep
) -> schemas.SyncResult:
    """The offline queue, in order: one answer per item (accepted, duplicate, conflict,
    rejected, blocked), with its `index` in the batch. Idempotent: resend the whole batch as
    often as needed. Each item is checked on its own: a malformed one is answered `rejected`
    (`validation_error`, its `fields`) and the rest go on; 422 for the batch itself only (no
    items, too many)."""
    return sync_service.sync_batch(session=session, ctx=ctx, actor=actor, items=batch.items)


@router.get(
    "/lots/{lot_id}/label.pdf",
    response_class=Response,
    responses=file_responses("application/pdf", 401, 403, 404, 409, 422),
)
def label_pdf(lot_id: UUID, actor: DeviceReader, session: ReadSessionDep, ctx: CtxDep) -> Response:
    """The lot's HJ 1276 label, for the handheld's printer."""
    return inline(mobile_service.label_pdf(session=session, ctx=ctx, actor=actor, lot_id=lot_id))


# ---------------------------------------------------------------- the handheld page


@page_router.get("/m")
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@page_router.get("/m/sw.js")
def service_worker() -> FileResponse:
    return FileResponse(
        STATIC / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/m"},
    )


def mount(app: FastAPI) -> None:
    """Add the handheld API, page and its static files (all served by the app: no CDN)."""
    app.include_router(router)
    app.include_router(page_router)
    app.mount("/m/static", StaticFiles(directory=STATIC), name="mobile-static")
