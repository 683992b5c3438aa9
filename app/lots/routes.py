"""Lot API (`/api/v1/lots`): thin routes over `app.lots.service`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.core.schemas import Instant
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.domain.lot import LotStatus
from app.domain.values import WasteKind
from app.identity.deps import require
from app.identity.permissions import Permission
from app.labelling import service as labelling_service
from app.labelling.routes import file_responses, inline
from app.labelling.schemas import LabelLayout
from app.lots import schemas
from app.lots import service as lot_service

router = APIRouter(prefix="/api/v1/lots", tags=["lots"], route_class=CheckedRoute)

Reader = require(Permission.lot_read)
Writer = require(Permission.lot_write)
Corrector = require(Permission.lot_correct)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)
PDF = "application/pdf"


@router.post(
    "",
    response_model=schemas.LotCommandResult,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
)
def generate(
    cmd: schemas.LotGenerate, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    """Record the generation of a waste lot (one container or package)."""
    return lot_service.generate_lot(session=session, ctx=ctx, actor=actor, cmd=cmd)


AWARE = "with its UTC offset, e.g. 2026-01-01T00:00:00+08:00"


@router.get("", response_model=schemas.LotPage, responses=error_responses(401, 403, 422))
def list_lots(
    actor: Reader,
    session: ReadSessionDep,
    ctx: CtxDep,
    site_id: UUID | None = None,
    status_: Annotated[list[LotStatus] | None, Query(alias="status")] = None,
    kind: WasteKind | None = None,
    category: Annotated[str | None, Query(max_length=8)] = None,
    waste_code: Annotated[str | None, Query(max_length=12)] = None,
    zone_id: UUID | None = None,
    generated_from: Annotated[Instant | None, Query(description=AWARE)] = None,
    generated_to: Annotated[Instant | None, Query(description=AWARE)] = None,
    storage_due: Annotated[
        bool,
        Query(
            description="only lots in storage that R32/R33 flag for their storage time: from "
            "the warning day, or an approved extension near or past its last day"
        ),
    ] = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> schemas.LotPage:
    return lot_service.list_lots(
        session=session,
        ctx=ctx,
        actor=actor,
        site_id=site_id,
        status=status_,
        kind=kind,
        category=category,
        waste_code=waste_code,
        zone_id=zone_id,
        generated_from=generated_from,
        generated_to=generated_to,
        storage_due=storage_due,
        q=q,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/by-code/{code}", response_model=schemas.LotRead, responses=error_responses(401, 403, 404, 422)
)
def get_lot_by_code(
    code: str, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> schemas.LotRead:
    """The lot a scanned code names: its digital ID, or the raw QR / Code 128 payload (spaces,
    CR/LF, AIM prefix, full-width and lower case are cleaned). 422 with the reasons when the
    code is not a lot ID, 404 when no lot in your scope carries it."""
    return lot_service.get_lot_by_code(session=session, ctx=ctx, actor=actor, code=code)


@router.get("/{lot_id}", response_model=schemas.LotRead, responses=error_responses(401, 403, 404))
def get_lot(lot_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep) -> schemas.LotRead:
    return lot_service.get_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id)


@router.get(
    "/{lot_id}/events",
    response_model=list[schemas.EventRead],
    responses=error_responses(401, 403, 404),
)
def lot_events(
    lot_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> list[schemas.EventRead]:
    """The lot's events in order, with their chain hashes."""
    return lot_service.lot_events(session=session, ctx=ctx, actor=actor, lot_id=lot_id)


@router.post("/{lot_id}/label", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def label(
    lot_id: UUID, cmd: schemas.LotLabel, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    return lot_service.label_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post(
    "/{lot_id}/label/reprint", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS
)
def reprint_label(
    lot_id: UUID, cmd: schemas.LotReprint, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    """Record a reprint of a labelled lot's label, with the reason (lost, damaged...)."""
    return lot_service.reprint_label(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.get(
    "/{lot_id}/label.pdf",
    response_class=Response,
    responses=file_responses(PDF, 401, 403, 404, 409, 422),
)
def label_pdf(
    lot_id: UUID,
    actor: Reader,
    session: ReadSessionDep,
    ctx: CtxDep,
    layout: LabelLayout = "roll",
) -> Response:
    """The HJ 1276 label (100/150/200 mm by container volume; two pages above 450 L);
    `layout=a4` places it on A4 with cut marks."""
    return inline(
        labelling_service.label_pdf(
            session=session, ctx=ctx, actor=actor, lot_id=lot_id, layout=layout
        )
    )


@router.get(
    "/{lot_id}/qr.png",
    response_class=Response,
    responses=file_responses("image/png", 401, 403, 404, 409),
)
def qr_png(lot_id: UUID, actor: Reader, session: ReadSessionDep) -> Response:
    """The QR code of the lot's digital ID (the payload is the bare ID)."""
    return inline(labelling_service.qr_png(session=session, actor=actor, lot_id=lot_id))


@router.get(
    "/{lot_id}/barcode.svg",
    response_class=Response,
    responses=file_responses("image/svg+xml", 401, 403, 404, 409),
)
def barcode_svg(lot_id: UUID, actor: Reader, session: ReadSessionDep) -> Response:
    """The Code 128 barcode of the lot's digital ID."""
    return inline(labelling_service.barcode_svg(session=session, actor=actor, lot_id=lot_id))


@router.post("/{lot_id}/weigh", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def weigh(
    lot_id: UUID, cmd: schemas.LotWeigh, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    return lot_service.weigh_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post("/{lot_id}/store", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def store(
    lot_id: UUID, cmd: schemas.LotStore, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    """Put a labelled lot into a storage zone."""
    return lot_service.store_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post("/{lot_id}/move", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def move(
    lot_id: UUID, cmd: schemas.LotMove, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    return lot_service.move_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post("/{lot_id}/inspect", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def inspect(
    lot_id: UUID, cmd: schemas.LotInspect, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    return lot_service.inspect_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post("/{lot_id}/repack", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def repack(
    lot_id: UUID, cmd: schemas.LotRepack, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    """Replace a lot's container (e.g. after an inspection found it damaged or leaking)."""
    return lot_service.repack_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post("/{lot_id}/correct", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def correct(
    lot_id: UUID, cmd: schemas.LotCorrect, actor: Corrector, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    """Correct descriptive fields; the corrected event stays in the log unchanged."""
    return lot_service.correct_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post(
    "/{lot_id}/storage-extension", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS
)
def extend_storage(
    lot_id: UUID,
    cmd: schemas.LotStorageExtension,
    actor: Corrector,
    session: SessionDep,
    ctx: CtxDep,
) -> schemas.LotCommandResult:
    """Record an approval to store a lot in storage beyond the one-year limit (延期贮存批准,
    固废法 Art. 81 ¶3): R32 no longer blocks (R33 no longer warns) until `extended_until`.
    409 if the lot is not in storage; 422 if the dates do not extend its limit."""
    return lot_service.extend_storage(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)


@router.post("/{lot_id}/discard", response_model=schemas.LotCommandResult, responses=WRITE_ERRORS)
def discard(
    lot_id: UUID, cmd: schemas.LotDiscard, actor: Writer, session: SessionDep, ctx: CtxDep
) -> schemas.LotCommandResult:
    """Record that a lot exempt under 豁免管理清单 #24 (900-041-49 collected unsorted with
    household waste, R61) went out with the household waste (随生活垃圾清运). 422 for a lot
    managed as hazardous waste, which leaves on a transfer manifest; 409 once discarded."""
    return lot_service.discard_lot(session=session, ctx=ctx, actor=actor, lot_id=lot_id, cmd=cmd)
