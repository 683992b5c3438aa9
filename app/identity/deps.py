"""Authentication and permission dependencies: `CurrentUser`, `RequirePermission(...)`,
`RequireAnyPermission(...)`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from app.core.security import decode_token
from app.deps import CtxDep
from app.domain.errors import PermissionDenied, Unauthenticated
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


class RequireAnyPermission:
    """`Depends(RequireAnyPermission(a, b, ...))` → the principal when its role holds at least
    one of the permissions, or 403 before any object is looked up.

    For a step that more than one party may take (a handover is signed by the consignor, the
    carrier or the handler): the route declares who may ever do it, and the service still
    decides which party of *this* object the caller is, and whether that party may act."""

    def __init__(self, *permissions: Permission) -> None:
        if not permissions:
            raise ValueError("name at least one permission")
        self.permissions = tuple(permissions)

    def __call__(self, user: CurrentUser) -> Principal:
        if not any(user.has(p) for p in self.permissions):
            needed = " or ".join(p.value for p in self.permissions)
            raise PermissionDenied(
                f"role {user.role.value} may not {needed}",
                role=user.role.value,
                permission=needed,
            )
        return user


def require_any(*permissions: Permission) -> type[Principal]:
    return Annotated[Principal, Depends(RequireAnyPermission(*permissions))]  # type: ignore[return-value]
