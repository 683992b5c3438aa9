"""Manifest API (`/api/v1/manifests`): thin routes over `app.manifests.service`.

Handler and transporter users see and act only on manifests naming their organisation;
plant users on the manifests of their sites; auditors read those of their sites.

Each step declares the permission(s) of the parties that may ever take it, so a role holding
none of them is refused (403) before the manifest is looked up; the service then checks which
party of *this* manifest the caller is, and that this party may take the step.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.domain.manifest import ManifestStatus
from app.exports import service as export_service
from app.identity.deps import require, require_any
from app.identity.permissions import Permission
from app.lots.schemas import EventRead
from app.manifests import schemas
from app.manifests import service as manifest_service

router = APIRouter(prefix="/api/v1/manifests", tags=["manifests"], route_class=CheckedRoute)

Reader = require(Permission.manifest_read)
# consignor (移出人): draft, submit, return, close, cancel
Consignor = require(Permission.manifest_write)
# handler (接受人): receive, confirm, dispose
Receiver = require(Permission.manifest_receive)
# consignor or carrier (承运人): load, dispatch, GPS track
Shipper = require_any(Permission.manifest_write, Permission.manifest_carry)
# any named party: one-time codes, signatures, corrections and their approval
AnyParty = require_any(
    Permission.manifest_write, Permission.manifest_carry, Permission.manifest_receive
)
WRITE = error_responses(401, 403, 404, 409, 422)
READ = error_responses(401, 403, 404)
Result = schemas.ManifestCommandResult


@router.post("", response_model=Result, status_code=status.HTTP_201_CREATED, responses=WRITE)
def create(
    cmd: schemas.ManifestCreate, actor: Consignor, session: SessionDep, ctx: CtxDep
) -> Result:
    """Draft a manifest: consignor site, handler (and licence), carrier, lines of lots. The
    14-digit number is allocated now; the lots are allocated to the manifest."""
    return manifest_service.create_manifest(session=session, ctx=ctx, actor=actor, cmd=cmd)


@router.get("", response_model=schemas.ManifestPage, responses=error_responses(401, 403, 422))
def list_manifests(
    actor: Reader,
    session: ReadSessionDep,
    status_: Annotated[list[ManifestStatus] | None, Query(alias="status")] = None,
    site_id: UUID | None = None,
    number: Annotated[str | None, Query(max_length=14)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> schemas.ManifestPage:
    return manifest_service.list_manifests(
        session=session,
        actor=actor,
        status=status_,
        site_id=site_id,
        number=number,
        limit=limit,
        offset=offset,
    )


@router.get("/alerts", response_model=list[schemas.ManifestAlert], responses=READ)
def alerts(actor: Reader, session: ReadSessionDep, ctx: CtxDep) -> list[schemas.ManifestAlert]:
    """Receipts unconfirmed after 5 working days (R50), open discrepancies (R51), manifests
    open too long (R56), corrections awaiting approval."""
    return manifest_service.alerts(session=session, ctx=ctx, actor=actor)


@router.get(
    "/{manifest_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **READ},
)
def manifest_pdf(
    manifest_id: UUID, request: Request, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> Response:
    """The manifest in the layout of the national form (Chinese, embedded font, QR code of
    the manifest number), with a second QR code linking to its roadside check (`/check/…`,
    under `PUBLIC_URL` when configured)."""
    pdf, filename = export_service.manifest_pdf(
        session=session,
        ctx=ctx,
        actor=actor,
        manifest_id=manifest_id,
        base_url=str(request.base_url),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/{manifest_id}", response_model=schemas.ManifestRead, responses=READ)
def get(manifest_id: UUID, actor: Reader, session: ReadSessionDep) -> schemas.ManifestRead:
    return manifest_service.get_manifest(session=session, actor=actor, manifest_id=manifest_id)


@router.get("/{manifest_id}/events", response_model=list[EventRead], responses=READ)
def events(
    manifest_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> list[EventRead]:
    """The manifest's events in order (with their chain hashes): the original of every
    correction stays here."""
    return manifest_service.manifest_events(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id
    )


@router.post("/{manifest_id}/submit", response_model=Result, responses=WRITE)
def submit(
    manifest_id: UUID, cmd: schemas.Action, actor: Consignor, session: SessionDep, ctx: CtxDep
) -> Result:
    """Consignor: file the manifest (R38-R43, R46, R47 checked)."""
    return manifest_service.submit(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/load", response_model=Result, responses=WRITE)
def load(
    manifest_id: UUID, cmd: schemas.ManifestLoad, actor: Shipper, session: SessionDep, ctx: CtxDep
) -> Result:
    """Consignor or carrier: every lot scanned at the vehicle; vehicle, driver, escort (R37,
    R40, R44, R45, R48). A missing or extra package blocks."""
    return manifest_service.load(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post(
    "/{manifest_id}/challenges",
    response_model=schemas.ChallengeRead,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE,
)
def challenge(
    manifest_id: UUID,
    cmd: schemas.ChallengeCreate,
    actor: AnyParty,
    session: SessionDep,
    ctx: CtxDep,
) -> schemas.ChallengeRead:
    """A one-time code (and QR payload) for your party to sign a handover on the other
    party's device. Valid once, for `ttl_minutes`."""
    return manifest_service.issue_challenge(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/sign", response_model=Result, responses=WRITE)
def sign(
    manifest_id: UUID, cmd: schemas.ManifestSign, actor: AnyParty, session: SessionDep, ctx: CtxDep
) -> Result:
    """Sign a handover for your party, or record the counterpart's one-time code."""
    return manifest_service.sign(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/dispatch", response_model=Result, responses=WRITE)
def dispatch(
    manifest_id: UUID,
    cmd: schemas.HandoverAction,
    actor: Shipper,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Handover consignor → carrier (both sign): the lots are shipped, the manifest in transit."""
    return manifest_service.dispatch(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/receive", response_model=Result, responses=WRITE)
def receive(
    manifest_id: UUID,
    cmd: schemas.ManifestReceive,
    actor: Receiver,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Handler: handover carrier → handler (both sign) and the weight of each lot. A
    difference beyond the tolerance, or another name / form / packaging, opens a discrepancy;
    otherwise the receipt is confirmed with the method codes."""
    return manifest_service.receive(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/confirm", response_model=Result, responses=WRITE)
def confirm(
    manifest_id: UUID,
    cmd: schemas.ManifestConfirm,
    actor: Receiver,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Handler: accept, partly accept or reject each lot; resolves a discrepancy (R51, R52)."""
    return manifest_service.confirm(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/returns", response_model=Result, responses=WRITE)
def returns(
    manifest_id: UUID,
    cmd: schemas.ManifestReturn,
    actor: Consignor,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Consignor: rejected lots come back into one of its zones (inventory)."""
    return manifest_service.return_lots(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/track", response_model=Result, responses=WRITE)
def record_track(
    manifest_id: UUID,
    cmd: schemas.ManifestTrack,
    actor: Shipper,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Carrier (or consignor): attach the trip's GPS fixes, from loading until the receipt is
    confirmed. R49 checks at arrival that a track exists and ends at the receiver's facility."""
    return manifest_service.record_track(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.get("/{manifest_id}/track", response_model=schemas.TrackRead, responses=READ)
def track(
    manifest_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> schemas.TrackRead:
    """Every GPS fix of the trip in time order, and the last fix's distance to the receiver."""
    return manifest_service.track(session=session, ctx=ctx, actor=actor, manifest_id=manifest_id)


@router.post("/{manifest_id}/dispose", response_model=Result, responses=WRITE)
def dispose(
    manifest_id: UUID,
    cmd: schemas.ManifestDispose,
    actor: Receiver,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Handler: method code and completion date per lot (R54: within the licence)."""
    return manifest_service.dispose(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/close", response_model=Result, responses=WRITE)
def close(
    manifest_id: UUID, cmd: schemas.Action, actor: Consignor, session: SessionDep, ctx: CtxDep
) -> Result:
    """Consignor: the disposal result is in; the manifest is closed."""
    return manifest_service.close(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/cancel", response_model=Result, responses=WRITE)
def cancel(
    manifest_id: UUID,
    cmd: schemas.ManifestCancel,
    actor: Consignor,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Consignor, before loading: the manifest is void and its lots back in stock."""
    return manifest_service.cancel(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post("/{manifest_id}/corrections", response_model=Result, responses=WRITE)
def request_correction(
    manifest_id: UUID,
    cmd: schemas.CorrectionRequest,
    actor: AnyParty,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """After a signature: ask to correct descriptive fields; another party must approve.
    The original values are kept in the request and in the log."""
    return manifest_service.request_correction(
        session=session, ctx=ctx, actor=actor, manifest_id=manifest_id, cmd=cmd
    )


@router.post(
    "/{manifest_id}/corrections/{correction_id}/decision", response_model=Result, responses=WRITE
)
def decide_correction(
    manifest_id: UUID,
    correction_id: UUID,
    cmd: schemas.CorrectionDecision,
    actor: AnyParty,
    session: SessionDep,
    ctx: CtxDep,
) -> Result:
    """Another party approves or rejects a pending correction."""
    return manifest_service.decide_correction(
        session=session,
        ctx=ctx,
        actor=actor,
        manifest_id=manifest_id,
        correction_id=correction_id,
        cmd=cmd,
    )
