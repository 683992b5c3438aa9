"""Authentication and permission dependencies: `CurrentUser`, `RequirePermission(...)`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from app.core.security import decode_token
from app.deps import CtxDep
from app.domain.errors import Unauthenticated
from app.identity import service as identity_service
from app.identity.permissions import Permission, Principal

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_current_user(ctx: CtxDep, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    if not token:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    s = ctx.settings
    claims = decode_token(
        token,
        secret=s.effective_jwt_secret,
        audience=s.auth.audience,
        issuer=s.auth.issuer,
        token_type="user",
    )
    try:
        user_id = UUID(claims["sub"])
    except ValueError as exc:
        raise Unauthenticated("the access token is invalid") from exc
    with ctx.db.session(write=False) as session:
        return identity_service.principal_for(session=session, user_id=user_id)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


class RequirePermission:
    """`Depends(RequirePermission(Permission.lot_write))` → the principal, or 403."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, user: CurrentUser) -> Principal:
        user.require(self.permission)
        return user


def require(permission: Permission) -> type[Principal]:
    return Annotated[Principal, Depends(RequirePermission(permission))]  # type: ignore[return-value]
