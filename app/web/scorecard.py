"""The scorecard (issue 7) as the console sees it: called through its service when that
service is installed, and reported as not available otherwise."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlmodel import Session

from app.domain.errors import DomainError
from app.identity.permissions import Principal


def service() -> Any:
    """The scorecard service module, or None when issue 7 is not installed."""
    try:
        from app.scorecard import service as scorecard_service  # type: ignore[import-not-found]
    except ImportError:
        return None
    if not all(hasattr(scorecard_service, n) for n in ("compute", "to_wire")):
        return None
    return scorecard_service


def card(
    *, session: Session, ctx: Any, actor: Principal, year: int, site_id: UUID | None = None
) -> tuple[bool, dict[str, Any] | None, DomainError | None]:
    """(available, the scorecard as the API answers it, the error refusing it)."""
    svc = service()
    if svc is None:
        return False, None, None
    try:
        computed = svc.compute(session=session, ctx=ctx, actor=actor, site_id=site_id, year=year)
    except DomainError as exc:
        return True, None, exc
    return True, svc.to_wire(computed), None


def total(*, session: Session, ctx: Any, actor: Principal, year: int, site_id: UUID | None) -> Any:
    """The raw total of the site's scorecard (None when unavailable)."""
    _, wire, _ = card(session=session, ctx=ctx, actor=actor, year=year, site_id=site_id)
    if wire is None:
        return None
    return wire["totals"]["raw_total"]
