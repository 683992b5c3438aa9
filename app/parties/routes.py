"""Parties API (`/api/v1/parties`): handler licences, carrier licences, vehicles, crew,
contracts, cross-province approvals, management plans, and the audit trail of changes.

(No `from __future__ import annotations`: the routes are built in a loop and FastAPI must see
the real request and response types.)"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.parties import schemas
from app.parties import service as party_service

router = APIRouter(prefix="/api/v1/parties", tags=["parties"], route_class=CheckedRoute)

Reader = require(Permission.party_read)
Admin = require(Permission.party_admin)
WRITE = error_responses(401, 403, 404, 409, 422)
READ = error_responses(401, 403, 404)

# path, entity, create, update, read
_SPECS: list[tuple[str, str, type[BaseModel], type[BaseModel], type[BaseModel], str]] = [
    (
        "handler-licences",
        "handler_licence",
        schemas.HandlerLicenceCreate,
        schemas.HandlerLicenceUpdate,
        schemas.HandlerLicenceRead,
        "危险废物经营许可证: approved categories/codes, methods, annual capacity, validity",
    ),
    (
        "carrier-licences",
        "carrier_licence",
        schemas.CarrierLicenceCreate,
        schemas.CarrierLicenceUpdate,
        schemas.CarrierLicenceRead,
        "道路运输经营许可证 with its DG classes and validity",
    ),
    (
        "vehicles",
        "vehicle",
        schemas.VehicleCreate,
        schemas.VehicleUpdate,
        schemas.VehicleRead,
        "vehicles: plate, 道路运输证号, permitted DG classes",
    ),
    (
        "crew",
        "crew",
        schemas.CrewCreate,
        schemas.CrewUpdate,
        schemas.CrewRead,
        "drivers and escorts with their 从业资格证",
    ),
    (
        "contracts",
        "contract",
        schemas.ContractCreate,
        schemas.ContractUpdate,
        schemas.ContractRead,
        "written contracts of the consignor with carriers and handlers",
    ),
    (
        "approvals",
        "approval",
        schemas.ApprovalCreate,
        schemas.ApprovalUpdate,
        schemas.ApprovalRead,
        "cross-province transfer approvals: codes, methods, quantity, period",
    ),
    (
        "plans",
        "plan",
        schemas.PlanCreate,
        schemas.PlanUpdate,
        schemas.PlanRead,
        "annual management plans per site (HJ 1259 §5): filing and transfer section",
    ),
]


def _register(
    path: str,
    entity: str,
    create_t: type[BaseModel],
    update_t: type[BaseModel],
    read_t: type[BaseModel],
    doc: str,
) -> None:
    def create(cmd: create_t, actor: Admin, session: SessionDep, ctx: CtxDep):  # type: ignore[valid-type,no-untyped-def]
        return party_service.create(session=session, ctx=ctx, actor=actor, entity=entity, cmd=cmd)

    def list_(actor: Reader, session: ReadSessionDep, enterprise_id: UUID | None = None):  # type: ignore[no-untyped-def]
        return party_service.list_rows(
            session=session, actor=actor, entity=entity, enterprise_id=enterprise_id
        )

    def get(row_id: UUID, actor: Reader, session: ReadSessionDep):  # type: ignore[no-untyped-def]
        return party_service.get_row(session=session, actor=actor, entity=entity, row_id=row_id)

    def update(row_id: UUID, cmd: update_t, actor: Admin, session: SessionDep, ctx: CtxDep):  # type: ignore[valid-type,no-untyped-def]
        return party_service.update(
            session=session, ctx=ctx, actor=actor, entity=entity, row_id=row_id, cmd=cmd
        )

    for fn, verb in ((create, "create"), (list_, "list"), (get, "get"), (update, "update")):
        fn.__name__ = f"{verb}_{entity}"
        fn.__doc__ = f"{verb.capitalize()} {doc}. Changes are audited (`/parties/changes`)."
    router.add_api_route(
        f"/{path}",
        create,
        methods=["POST"],
        response_model=read_t,
        status_code=status.HTTP_201_CREATED,
        responses=WRITE,
    )
    router.add_api_route(
        f"/{path}", list_, methods=["GET"], response_model=list[read_t], responses=READ
    )  # type: ignore[valid-type]
    router.add_api_route(
        f"/{path}/{{row_id}}", get, methods=["GET"], response_model=read_t, responses=READ
    )
    router.add_api_route(
        f"/{path}/{{row_id}}", update, methods=["PATCH"], response_model=read_t, responses=WRITE
    )


for _spec in _SPECS:
    _register(*_spec)


@router.get("/changes", response_model=list[schemas.PartyChangeRead], responses=READ)
def party_changes(
    _: Admin,
    session: ReadSessionDep,
    entity_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    offset: Offset = 0,
) -> list[schemas.PartyChangeRead]:
    """The audit trail of the master data: who changed which record, when, values after;
    oldest first, `limit` at a time from `offset` (a short page is the last)."""
    return party_service.changes(session=session, entity_id=entity_id, limit=limit, offset=offset)
