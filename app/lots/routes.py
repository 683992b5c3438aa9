"""Lot API (`/api/v1/lots`): thin routes over `app.lots.service`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from app.core.errors import error_responses
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.domain.lot import LotStatus
from app.domain.values import WasteKind
from app.identity.deps import require
from app.identity.permissions import Permission
from app.lots import schemas
from app.lots import service as lot_service

router = APIRouter(prefix="/api/v1/lots", tags=["lots"])

Reader = require(Permission.lot_read)
Writer = require(Permission.lot_write)
Corrector = require(Permission.lot_correct)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


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
    generated_from: datetime | None = None,
    generated_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
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
        q=q,
        limit=limit,
        offset=offset,
    )


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
