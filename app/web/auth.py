"""Web sign-in: a signed session cookie and CSRF tokens for the manager console.

The cookie holds a JWT (HS256, the app's secret) of type `web` with a random CSRF token in it;
it is HttpOnly and SameSite=Lax. Every form post carries the same token in a hidden field and
is refused (403) without it. Before sign-in, the login form uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.responses import Response

from app.core.security import create_token, decode_token
from app.deps import CtxDep
from app.domain.errors import DomainError, PermissionDenied, Unauthenticated
from app.identity import service as identity_service
from app.identity.permissions import Principal

SESSION_COOKIE = "hz_session"
LOGIN_CSRF_COOKIE = "hz_login_csrf"
TOKEN_TYPE = "web"


class LoginRequired(DomainError):
    """No valid session: the page redirects to the sign-in form."""

    code = "login_required"


class WebSession:
    """The signed-in principal and the CSRF token of this browser session."""

    def __init__(self, principal: Principal, csrf: str, display_name: str) -> None:
        self.principal = principal
        self.csrf = csrf
        self.display_name = display_name


def session_token(ctx: CtxDep, user_id: UUID) -> tuple[str, int]:
    s = ctx.settings
    ttl = timedelta(minutes=s.auth.access_token_minutes)
    token = create_token(
        secret=s.effective_jwt_secret,
        subject=user_id,
        token_type=TOKEN_TYPE,
        audience=s.auth.audience,
        issuer=s.auth.issuer,
        now=ctx.clock.now(),
        ttl=ttl,
        extra={"csrf": secrets.token_urlsafe(24)},
    )
    return token, int(ttl.total_seconds())


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def get_web_session(request: Request, ctx: CtxDep) -> WebSession:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("sign in first")
    s = ctx.settings
    try:
        claims = decode_token(
            token,
            secret=s.effective_jwt_secret,
            audience=s.auth.audience,
            issuer=s.auth.issuer,
            token_type=TOKEN_TYPE,
        )
        user_id = UUID(claims["sub"])
    except (Unauthenticated, ValueError) as exc:
        raise LoginRequired("your session has expired: sign in again") from exc
    try:
        with ctx.db.session(write=False) as session:
            principal = identity_service.principal_for(session=session, user_id=user_id)
            name = identity_service.get_user(session=session, user_id=user_id).display_name
    except Unauthenticated as exc:
        raise LoginRequired(exc.message) from exc
    ws = WebSession(principal, str(claims.get("csrf", "")), name)
    request.state.web_session = ws  # for the error page's navigation
    return ws


WebUser = Annotated[WebSession, Depends(get_web_session)]


def check_csrf(expected: str, sent: str | None) -> None:
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise PermissionDenied("the form's security token is missing or stale: reload the page")


def login_csrf(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
