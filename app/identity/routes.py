"""Sign-in and administration of enterprises, sites and users (`/api/v1`)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.core.throttle import client_address
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.identity import schemas
from app.identity import service as identity_service
from app.identity.deps import CurrentUser, require
from app.identity.permissions import Permission

router = APIRouter(prefix="/api/v1", route_class=CheckedRoute)

SiteAdmin = require(Permission.site_admin)
SiteReader = require(Permission.site_read)
UserAdmin = require(Permission.user_admin)


@router.post(
    "/auth/token",
    response_model=schemas.Token,
    tags=["auth"],
    responses=error_responses(401, 422, 429),
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: ReadSessionDep,
    ctx: CtxDep,
    request: Request,
) -> schemas.Token:
    """OAuth2 password flow: exchange username and password for a bearer token. Failed
    sign-ins are throttled per username and per address (429 with Retry-After)."""
    return identity_service.issue_token(
        session=session,
        ctx=ctx,
        username=form.username,
        password=form.password,
        client=client_address(request),
    )


@router.get(
    "/users/me", response_model=schemas.UserRead, tags=["users"], responses=error_responses(401)
)
def me(user: CurrentUser, session: ReadSessionDep) -> schemas.UserRead:
    return identity_service.get_user(session=session, user_id=user.user_id)


@router.get(
    "/users",
    response_model=list[schemas.UserRead],
    tags=["users"],
    responses=error_responses(401, 403),
)
def list_users(_: UserAdmin, session: ReadSessionDep) -> list[schemas.UserRead]:
    return identity_service.list_users(session=session)


@router.post(
    "/users",
    response_model=schemas.UserRead,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    responses=error_responses(401, 403, 409, 422),
)
def create_user(
    cmd: schemas.UserCreate, actor: UserAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.UserRead:
    """Create a user; the change is recorded (`/api/v1/audit/changes`)."""
    return identity_service.create_user(session=session, ctx=ctx, cmd=cmd, actor=actor)


@router.get(
    "/users/{user_id}",
    response_model=schemas.UserRead,
    tags=["users"],
    responses=error_responses(401, 403, 404),
)
def get_user(user_id: UUID, _: UserAdmin, session: ReadSessionDep) -> schemas.UserRead:
    return identity_service.get_user(session=session, user_id=user_id)


@router.patch(
    "/users/{user_id}",
    response_model=schemas.UserRead,
    tags=["users"],
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_user(
    user_id: UUID, cmd: schemas.UserUpdate, actor: UserAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.UserRead:
    """Change a user's name, role, sites, active flag or password; the change is recorded
    (`/api/v1/audit/changes`), a password only as the fact that it was reset."""
    return identity_service.update_user(
        session=session, ctx=ctx, user_id=user_id, cmd=cmd, actor=actor
    )


@router.get(
    "/enterprises",
    response_model=list[schemas.EnterpriseRead],
    tags=["sites"],
    responses=error_responses(401, 403),
)
def list_enterprises(_: SiteAdmin, session: ReadSessionDep) -> list[schemas.EnterpriseRead]:
    return [
        schemas.EnterpriseRead.model_validate(e)
        for e in identity_service.list_enterprises(session=session)
    ]


@router.post(
    "/enterprises",
    response_model=schemas.EnterpriseRead,
    status_code=status.HTTP_201_CREATED,
    tags=["sites"],
    responses=error_responses(401, 403, 409, 422),
)
def create_enterprise(
    cmd: schemas.EnterpriseCreate, actor: SiteAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.EnterpriseRead:
    ent = identity_service.create_enterprise(session=session, ctx=ctx, cmd=cmd, actor=actor)
    return schemas.EnterpriseRead.model_validate(ent)


@router.get(
    "/sites",
    response_model=list[schemas.SiteRead],
    tags=["sites"],
    responses=error_responses(401, 403),
)
def list_sites(actor: SiteReader, session: ReadSessionDep) -> list[schemas.SiteRead]:
    return identity_service.list_sites(session=session, actor=actor)


@router.post(
    "/sites",
    response_model=schemas.SiteRead,
    status_code=status.HTTP_201_CREATED,
    tags=["sites"],
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_site(
    cmd: schemas.SiteCreate, actor: SiteAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.SiteRead:
    return identity_service.create_site(session=session, ctx=ctx, cmd=cmd, actor=actor)


@router.get(
    "/sites/{site_id}",
    response_model=schemas.SiteRead,
    tags=["sites"],
    responses=error_responses(401, 403, 404),
)
def get_site(site_id: UUID, actor: SiteReader, session: ReadSessionDep) -> schemas.SiteRead:
    return identity_service.visible_site(session=session, actor=actor, site_id=site_id)


@router.patch(
    "/sites/{site_id}",
    response_model=schemas.SiteRead,
    tags=["sites"],
    responses=error_responses(401, 403, 404, 422),
)
def update_site(
    site_id: UUID, cmd: schemas.SiteUpdate, actor: SiteAdmin, session: SessionDep, ctx: CtxDep
) -> schemas.SiteRead:
    """Change a site's contact details and the profile the storage rules read."""
    return identity_service.update_site(
        session=session, ctx=ctx, site_id=site_id, cmd=cmd, actor=actor
    )


@router.get(
    "/sites/{site_id}/public-key",
    response_model=schemas.SiteKeyRead,
    tags=["audit"],
    responses=error_responses(404),
)
def site_public_key(site_id: UUID, session: ReadSessionDep, ctx: CtxDep) -> schemas.SiteKeyRead:
    """The site's Ed25519 public key (PEM and JWK): verifies its signed chain checkpoints.
    Public on purpose: a regulator needs it to check an export without an account."""
    return identity_service.site_key(session=session, ctx=ctx, site_id=site_id)
