"""Request-scoped dependencies shared by every router: the app context and sessions.

The session dependency uses FastAPI's `scope="function"`, so the transaction commits (or rolls
back) before the response is sent: a client never sees success for a write that did not land.

A console page that turns an error into a page (`app.web.render.WebRoute`) catches it before
this dependency's exit sees it, so it marks the request (`ROLLBACK_ONLY`) and the write session
rolls back instead of committing what the failed request had written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel import Session

from app.context import AppContext


async def get_ctx(request: Request) -> AppContext:
    # async: a plain attribute read, so it runs on the event loop, not a threadpool hop
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


ROLLBACK_ONLY = "hazchain_rollback_only"


def _write_session(ctx: CtxDep, request: Request) -> Iterator[Session]:
    with ctx.db.session(write=True) as session:
        yield session
        if getattr(request.state, ROLLBACK_ONLY, False):
            session.rollback()  # the request failed and its page was drawn: nothing stays


def _read_session(ctx: CtxDep) -> Iterator[Session]:
    with ctx.db.session(write=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(_write_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(_read_session, scope="function")]


# Every list pages with `offset`: bounded, so a number past what the database's integers hold
# is a 422 naming it, not an overflow in the driver (SQLite's INTEGER is 64-bit).
MAX_OFFSET = 1_000_000_000
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip (at most {MAX_OFFSET:,})")
]
