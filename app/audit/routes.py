"""Audit API (`/api/v1/audit`): chain verification, signed checkpoints, and the change trail of
the master data."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from app.audit import jobs as audit_jobs
from app.audit import schemas
from app.audit import service as audit_service
from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], route_class=CheckedRoute)

Reader = require(Permission.audit_read)
Signer = require(Permission.audit_sign)


@router.get("/verify", response_model=schemas.VerifyRead, responses=error_responses(401, 403, 429))
def verify(actor: Reader, ctx: CtxDep) -> schemas.VerifyRead:
    """Recompute every hash chain in scope: `ok` with counts, or the first broken link. 429
    with Retry-After while another verification runs (one at a time per database)."""
    return audit_jobs.verify_in_scope(ctx, actor=actor)


@router.get(
    "/verifications",
    response_model=list[schemas.VerificationRunRead],
    responses=error_responses(401, 403, 422),
)
def verifications(
    actor: Reader, session: ReadSessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[schemas.VerificationRunRead]:
    """The recorded verification runs (CLI, console, API, the server's daily run), newest first,
    each for the caller's sites."""
    return audit_service.list_runs(session=session, actor=actor, limit=limit)


@router.post(
    "/verifications",
    response_model=schemas.VerificationRunRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 429),
)
def verify_and_record(
    actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> schemas.VerificationRunRead:
    """Verify every chain now and record the run; the answer shows the caller's sites. 429
    with Retry-After while another verification runs, or within `VERIFY_COOLDOWN_SECONDS` of
    the last one (its id in `last_run_id`). The job reads its own snapshot and records the run
    itself; the request's session reads after it."""
    _, run = audit_jobs.verify_on_request(ctx, trigger="api", actor=actor)
    return audit_service.run_read(session, actor, run)


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
    """Sign the current head of each chain in scope with its site's key (and, for an admin,
    the head of the master data's change trail with the trail's key)."""
    return audit_service.sign_checkpoints(session=session, ctx=ctx, actor=actor)


@router.get("/changes", response_model=schemas.ChangePage, responses=error_responses(401, 403, 422))
def changes(
    actor: Reader,
    session: ReadSessionDep,
    entity: Annotated[
        str | None,
        Query(
            max_length=32,
            description="enterprise, site, user, device, or a party record "
            "(handler_licence, carrier_licence, vehicle, crew, contract, approval, plan)",
        ),
    ] = None,
    entity_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> schemas.ChangePage:
    """Who changed the master data, when, and to what, newest first: enterprises, sites, users
    (role, sites, active flag, password resets — never the password), handheld devices, and the
    parties' licences, vehicles, crew, contracts, approvals and plans. An admin reads every
    enterprise's changes; anyone else those made by or to their own enterprise. The trail is an
    append-only table (the database refuses edits), but not hash-chained like the custody log."""
    return audit_service.list_changes(
        session=session,
        actor=actor,
        entities=(entity,) if entity is not None else None,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
