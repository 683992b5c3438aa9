"""Audit API (`/api/v1/audit`): chain verification and signed checkpoints."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from app.audit import schemas
from app.audit import service as audit_service
from app.core.errors import error_responses
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Reader = require(Permission.audit_read)
Signer = require(Permission.audit_sign)


@router.get("/verify", response_model=schemas.VerifyRead, responses=error_responses(401, 403))
def verify(actor: Reader, session: ReadSessionDep, ctx: CtxDep) -> schemas.VerifyRead:
    """Recompute every hash chain in scope: `ok` with counts, or the first broken link."""
    return audit_service.verify(session=session, ctx=ctx, actor=actor)


@router.get(
    "/checkpoints", response_model=list[schemas.CheckpointRead], responses=error_responses(401, 403)
)
def checkpoints(
    actor: Reader, session: ReadSessionDep, site_id: UUID | None = None
) -> list[schemas.CheckpointRead]:
    return audit_service.list_checkpoints(session=session, actor=actor, site_id=site_id)


@router.post(
    "/checkpoints",
    response_model=list[schemas.CheckpointRead],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403),
)
def sign(actor: Signer, session: SessionDep, ctx: CtxDep) -> list[schemas.CheckpointRead]:
    """Sign the current head of each chain in scope with its site's key."""
    return audit_service.sign_checkpoints(session=session, ctx=ctx, actor=actor)
