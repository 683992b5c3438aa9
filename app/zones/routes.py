"""Zone API (`/api/v1/zones`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from fastapi.responses import Response

from app.core.errors import error_responses
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.labelling import service as labelling_service
from app.labelling.routes import file_responses, inline
from app.labelling.schemas import SignSize
from app.zones import schemas
from app.zones import service as zone_service

router = APIRouter(prefix="/api/v1/zones", tags=["zones"])

Reader = require(Permission.zone_read)
Admin = require(Permission.zone_admin)


@router.post(
    "",
    response_model=schemas.ZoneRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def register(
    cmd: schemas.ZoneCreate, actor: Admin, session: SessionDep, ctx: CtxDep
) -> schemas.ZoneRead:
    return zone_service.register_zone(session=session, ctx=ctx, actor=actor, cmd=cmd)


@router.get("", response_model=list[schemas.ZoneRead], responses=error_responses(401, 403))
def list_zones(
    actor: Reader, session: ReadSessionDep, site_id: UUID | None = None
) -> list[schemas.ZoneRead]:
    return zone_service.list_zones(session=session, actor=actor, site_id=site_id)


@router.get("/{zone_id}", response_model=schemas.ZoneRead, responses=error_responses(401, 403, 404))
def get_zone(zone_id: UUID, actor: Reader, session: ReadSessionDep) -> schemas.ZoneRead:
    """A zone with its inventory by category (count, kg, litres)."""
    return zone_service.get_zone(session=session, actor=actor, zone_id=zone_id)


@router.get(
    "/{zone_id}/sign.pdf",
    response_class=Response,
    responses=file_responses("application/pdf", 401, 403, 404, 422),
)
def sign_pdf(
    zone_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep, size: SignSize = "A4"
) -> Response:
    """The zone sign: zone code as QR and Code 128, the zone kind, the waste categories it
    currently holds and a plan of the site's zones."""
    return inline(
        labelling_service.zone_sign_pdf(
            session=session, ctx=ctx, actor=actor, zone_id=zone_id, page_size=size
        )
    )
