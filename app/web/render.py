"""Templates, the role-aware navigation, formatting, and the route class that turns domain
errors into pages (a sign-in redirect, a friendly 403/404, or the message on the page)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy.exc as sa_exc
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from app.core.errors import database_failure, status_for
from app.core.routing import CheckedRoute
from app.deps import ROLLBACK_ONLY
from app.domain.errors import DomainError, PermissionDenied
from app.domain.values import Role
from app.identity.permissions import Permission
from app.web.auth import LoginRequired, WebSession
from app.web.i18n import Translator, language

log = logging.getLogger("hazchain.web")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CHINA = timedelta(hours=8)

PLANT = {Role.admin, Role.ehs_manager, Role.operator, Role.auditor}
MANAGERS = {Role.admin, Role.ehs_manager, Role.auditor}


@dataclass(frozen=True)
class Section:
    key: str
    path: str
    title: str
    roles: frozenset[Role]


SECTIONS = [
    Section("dashboard", "/dashboard", "Dashboard", frozenset(PLANT)),
    Section("lots", "/lots", "Lots", frozenset(PLANT)),
    Section("zones", "/zones", "Zones", frozenset(PLANT)),
    Section("manifests", "/manifests", "Manifests", frozenset(Role)),
    Section("parties", "/parties", "Parties", frozenset(MANAGERS)),
    Section("scorecard", "/scorecard", "Scorecard", frozenset(MANAGERS)),
    Section("exports", "/exports", "Exports", frozenset(MANAGERS)),
    Section("audit", "/audit", "Audit", frozenset(MANAGERS)),
    Section("admin", "/admin", "Administration", frozenset({Role.admin})),
]
BY_KEY = {s.key: s for s in SECTIONS}


def nav_for(role: Role) -> list[Section]:
    return [s for s in SECTIONS if role in s.roles]


def home_for(role: Role) -> str:
    return nav_for(role)[0].path


def allow(ws: WebSession, section: str) -> None:
    """The page's section must be in the role's navigation (403 otherwise)."""
    if ws.principal.role not in BY_KEY[section].roles:
        raise PermissionDenied(f"role {ws.principal.role.value} may not open {section}")


# ---------------------------------------------------------------- formatting


def china(at: datetime | None) -> str:
    if at is None:
        return "—"
    return (at.astimezone(UTC) + CHINA).strftime("%Y-%m-%d %H:%M")


def day(d: date | datetime | None) -> str:
    if d is None:
        return "—"
    if isinstance(d, datetime):
        return (d.astimezone(UTC) + CHINA).strftime("%Y-%m-%d")
    return d.isoformat()


def kg(v: Decimal | float | int | None) -> str:
    if v is None:
        return "—"
    return f"{Decimal(v):,.1f} kg"


def tonnes(v: Decimal | float | int | None) -> str:
    if v is None:
        return "—"
    return f"{Decimal(v) / 1000:,.3f} t"


def expiry(valid_to: date, today: date) -> tuple[str, int]:
    """A licence's state for the warning colours: expired, expiring within 60 days, or ok."""
    days = (valid_to - today).days
    if days < 0:
        return "expired", days
    if days <= 60:
        return "soon", days
    return "ok", days


def zone_label(zone_code: str | None, site_id: Any, site_codes: dict[Any, str] | None) -> str:
    """A zone's code, prefixed with its site's code when the viewer sees several sites (A1 at
    two sites is ambiguous)."""
    if not zone_code:
        return "—"
    if site_codes and len(site_codes) > 1 and site_id in site_codes:
        return f"{site_codes[site_id]} · {zone_code}"
    return zone_code


def add_days(d: date, n: int) -> date:
    return d + timedelta(days=n)


TEMPLATES.env.filters.update(china=china, day=day, kg=kg, tonnes=tonnes, add_days=add_days)
TEMPLATES.env.globals.update(expiry=expiry, zone_label=zone_label)


def page(
    request: Request,
    name: str,
    ws: WebSession | None,
    *,
    section: str = "",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    t = Translator(lang)
    principal = ws.principal if ws else None

    def can(permission: str) -> bool:
        return principal is not None and principal.has(Permission(permission))

    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "_": t,
            "t": t,
            "lang": lang,
            "ws": ws,
            "user": principal,
            "nav": nav_for(principal.role) if principal else [],
            "section": section,
            "can": can,
            "csrf": ws.csrf if ws else "",
            "path": request.url.path,
            "query": request.url.query,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("hz_lang", lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def error_page(request: Request, exc: DomainError | RequestValidationError) -> Response:
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    if isinstance(exc, RequestValidationError):
        status, message = 422, "; ".join(str(e.get("msg", "")) for e in exc.errors()[:3])
    else:
        status, message = status_for(exc), exc.message
    ws = getattr(request.state, "web_session", None)
    return page(request, "error.html", ws, status_code=status, status=status, message=message)


def database_error_page(request: Request, exc: sa_exc.DBAPIError) -> Response:
    """A database that cannot serve the page (gone, read-only, full): the API's status and
    sentence (`database_failure`) on the console's error page; anything else stays a 500."""
    status, _, detail = database_failure(exc)
    log.error("database failure on %s %s: %s", request.method, request.url.path, exc.orig)
    ws = getattr(request.state, "web_session", None)
    message = Translator(language(request))(detail)
    response = page(request, "error.html", ws, status_code=status, status=status, message=message)
    response.headers["Retry-After"] = "5"
    return response


class WebRoute(CheckedRoute):
    """Pages never answer JSON errors: domain errors become a page or a sign-in redirect, and
    a database failure the error page with its status. Control characters in the query or the
    form are refused first, as on the API (`CheckedRoute`), on the error page (422).

    The exception arrives here before the write session's exit has seen it (FastAPI runs that
    exit after this handler returns), so the request is marked rollback-only first: whatever
    the failed request wrote is rolled back, not committed with the error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (DomainError, RequestValidationError) as exc:
                setattr(request.state, ROLLBACK_ONLY, True)
                return error_page(request, exc)
            except sa_exc.DBAPIError as exc:
                setattr(request.state, ROLLBACK_ONLY, True)
                return database_error_page(request, exc)

        return handler
