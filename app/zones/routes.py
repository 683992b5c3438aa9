"""Zone API (`/api/v1/zones`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from fastapi.responses import Response

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.labelling import service as labelling_service
from app.labelling.routes import file_responses, inline
from app.labelling.schemas import SignSize
from app.zones import schemas
from app.zones import service as zone_service

router = APIRouter(prefix="/api/v1/zones", tags=["zones"], route_class=CheckedRoute)
facility_router = APIRouter(prefix="/api/v1/facilities", tags=["zones"], route_class=CheckedRoute)

Reader = require(Permission.zone_read)
Admin = require(Permission.zone_admin)
Inspector = require(Permission.lot_write)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


@facility_router.post(
    "",
    response_model=schemas.FacilityRead,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
)
def register_facility(
    cmd: schemas.FacilityCreate, actor: Admin, session: SessionDep, ctx: CtxDep
) -> schemas.FacilityRead:
    """Register a storage facility: GB 18597 贮存库/场/池/罐区/点, or a GB 18599 yard."""
    return zone_service.register_facility(session=session, ctx=ctx, actor=actor, cmd=cmd)


@facility_router.get(
    "", response_model=list[schemas.FacilityRead], responses=error_responses(401, 403)
)
def list_facilities(
    actor: Reader, session: ReadSessionDep, ctx: CtxDep, site_id: UUID | None = None
) -> list[schemas.FacilityRead]:
    return zone_service.list_facilities(session=session, ctx=ctx, actor=actor, site_id=site_id)


@facility_router.get(
    "/{facility_id}", response_model=schemas.FacilityRead, responses=error_responses(401, 403, 404)
)
def get_facility(
    facility_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> schemas.FacilityRead:
    """A facility with its anti-seepage audit warnings (GB 18597 6.1.4)."""
    return zone_service.get_facility(session=session, ctx=ctx, actor=actor, facility_id=facility_id)


@facility_router.get(
    "/{facility_id}/sign.pdf",
    response_class=Response,
    responses=file_responses("application/pdf", 401, 403, 404, 422),
)
def facility_sign_pdf(
    facility_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep, size: SignSize = "A4"
) -> Response:
    """The facility sign (危险废物贮存设施): the unit, the facility's code and name, and the
    site's contact person and phone (else the enterprise's)."""
    return inline(
        labelling_service.facility_sign_pdf(
            session=session, ctx=ctx, actor=actor, facility_id=facility_id, page_size=size
        )
    )


@facility_router.patch(
    "/{facility_id}", response_model=schemas.FacilityRead, responses=WRITE_ERRORS
)
def configure_facility(
    facility_id: UUID, cmd: schemas.FacilityUpdate, actor: Admin, session: SessionDep, ctx: CtxDep
) -> schemas.FacilityRead:
    """Record new audit properties of a facility (anti-seepage, base liner)."""
    return zone_service.configure_facility(
        session=session, ctx=ctx, actor=actor, facility_id=facility_id, cmd=cmd
    )


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


@router.patch("/{zone_id}", response_model=schemas.ZoneRead, responses=WRITE_ERRORS)
def configure(
    zone_id: UUID, cmd: schemas.ZoneUpdate, actor: Admin, session: SessionDep, ctx: CtxDep
) -> schemas.ZoneRead:
    """Change a zone's storage properties (what its sign allows, containment, capacity...)."""
    return zone_service.configure_zone(
        session=session, ctx=ctx, actor=actor, zone_id=zone_id, cmd=cmd
    )


@router.post(
    "/{zone_id}/inspections",
    response_model=schemas.InspectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
)
def inspect(
    zone_id: UUID, cmd: schemas.ZoneInspect, actor: Inspector, session: SessionDep, ctx: CtxDep
) -> schemas.InspectionRead:
    """GB 18597 8.2.2 inspection: the condition of each container; damaged or leaking ones
    must be repacked before their lot moves on."""
    return zone_service.inspect_zone(
        session=session, ctx=ctx, actor=actor, zone_id=zone_id, cmd=cmd
    )


@router.get(
    "/{zone_id}/sign.pdf",
    response_class=Response,
    responses=file_responses("application/pdf", 401, 403, 404, 422),
)
def sign_pdf(
    zone_id: UUID, actor: Reader, session: ReadSessionDep, ctx: CtxDep, size: SignSize = "A4"
) -> Response:
    """The zone sign: zone code as QR and Code 128, the zone kind, the waste categories it
    allows (or currently holds) and a plan of the site's zones."""
    return inline(
        labelling_service.zone_sign_pdf(
            session=session, ctx=ctx, actor=actor, zone_id=zone_id, page_size=size
        )
    )
