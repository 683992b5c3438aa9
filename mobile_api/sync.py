"""`POST /mobile/v1/sync`: the handheld's offline queue, applied in order in one transaction.

Each item lands whole or not at all: a refused item leaves no trace (no event, no projection
change, no digital ID consumed). A batch is first applied as one unit, where a refused item has
written nothing because every decision comes before the append; should an item fail after it
wrote, the batch is applied again with a SAVEPOINT per item (see `sync_batch`). Per item the
answer is

- `accepted`: recorded now (`late` when it happened long before it reached us);
- `duplicate`: its event id is already in the log, so nothing is written and the original
  result is returned (a batch sent three times gives one set of events);
- `conflict`: the lot moved on since the device saw it (a stale `expected_version`); `current`
  is the lot as it is now;
- `rejected`: refused, with the error and the rule findings in plain words;
- `blocked`: not tried, because an earlier item it needs (one on the same lot, or one named in
  `depends_on`) was not applied; `blocked_by` names that item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.context import AppContext
from app.core.db import keep_rows
from app.domain.errors import ConcurrencyConflict, Conflict, DomainError, RuleViolation
from app.eventstore.store import DeferredWritesLost, EventStore
from app.identity.permissions import Principal
from app.projections.base import deferred_flush
from mobile_api import schemas
from mobile_api import service as mobile_service

OK = {"accepted", "duplicate"}

ERROR_ZH = {
    "concurrency_conflict": "该废物已被更新（可能在其他设备上），此步未执行，请重新扫码",
    "invalid_transition": "当前状态不允许此操作",
    "not_found": "未找到（或不在本厂区）",
    "permission_denied": "无权执行此操作",
    "occurred_at_in_future": "设备时间比服务器快，请校准手持机时钟",
    "conflict": "事件编号已被其他操作使用",
    "invalid_input": "输入有误",
    "validation_error": "输入有误",
}


def _rejected(item: schemas.MobileAction, exc: DomainError) -> schemas.ItemResult:
    findings = (
        [mobile_service.finding_read(f) for f in exc.findings]
        if isinstance(exc, RuleViolation)
        else []
    )
    blocks = [f for f in findings if f.severity == "block"]
    if blocks:
        detail_zh = blocks[0].text_zh + (
            f"（另有 {len(blocks) - 1} 项）" if len(blocks) > 1 else ""
        )
    else:
        base = ERROR_ZH.get(exc.code, "操作被拒绝")
        if isinstance(exc, DomainError) and "status" in exc.details:
            status = mobile_service.STATUS_ZH.get(str(exc.details["status"]), "")
            base = f"废物当前为「{status}」，不能{mobile_service.ACTION_ZH[item.action]}"
        elif exc.code in ("invalid_input", "invalid_transition"):
            base = f"{base}：{exc.message}"
        detail_zh = base
    return schemas.ItemResult(
        event_id=item.event_id,
        action=item.action,
        status="rejected",
        error=exc.code,
        detail=exc.message,
        detail_zh=detail_zh,
        findings=findings,
    )


class _Unbatchable(Exception):
    """An item failed after it had written something: only a savepoint of its own can undo
    that, so the batch is applied again item by item."""


def sync_batch(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    items: list[schemas.MobileAction],
) -> schemas.SyncResult:
    """Apply a batch of queued actions in order; answer per item (see the module docstring).

    First as one unit, inside one savepoint: the site's chain is locked, the batch's event
    ids, streams and lots are read in three queries, every item is decided and appended in
    order (hashed and numbered at once, kept in memory), and at the end the events go in one
    multi-row insert, each changed projection row in one update and the chain head once. A
    refused item has written nothing (every decision comes before the append), so it needs no
    savepoint of its own. Should an item fail after it wrote, a savepoint roll back within,
    or the final write fail, the batch's savepoint is rolled back and the batch applied again
    with a savepoint per item: the same answers, slower."""
    limit = ctx.settings.mobile.max_batch
    if len(items) > limit:
        raise mobile_service.BatchTooLarge(
            f"a sync batch holds at most {limit} items, not {len(items)}: send the rest next",
            field="items",
            max_batch=limit,
        )
    keep_rows(session)  # consecutive steps on a lot find its rows in the identity map
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    try:
        with session.begin_nested():
            site_id = next(iter(actor.site_ids)) if len(actor.site_ids) == 1 else None
            lots = list(dict.fromkeys(k for k in map(mobile_service.lot_key, items) if k))
            store.prefetch([i.event_id for i in items], site_id=site_id, stream_ids=lots)
            mobile_service.preload_lots(session, lots)
            with (
                _WriteWatch(session) as watch,
                deferred_flush(session),
                store.deferred_writes(len(items)),
            ):

                def unsaved(item: schemas.MobileAction) -> schemas.ItemResult:
                    writes, appends = watch.writes, store.deferred_appends
                    try:
                        return mobile_service.apply(
                            session=session, ctx=ctx, actor=actor, item=item
                        )
                    except DomainError:
                        if (
                            watch.writes != writes
                            or store.deferred_appends != appends
                            or session.new
                            or session.deleted
                        ):
                            raise _Unbatchable from None
                        raise

                results = _apply_all(session, items, unsaved)
                session.flush()
    except (_Unbatchable, DeferredWritesLost, DBAPIError, Conflict):
        # Conflict: the final write met a concurrent writer (the items' own are answered)

        def saved(item: schemas.MobileAction) -> schemas.ItemResult:
            with session.begin_nested():
                return mobile_service.apply(session=session, ctx=ctx, actor=actor, item=item)

        store.prefetch([i.event_id for i in items])  # the lookup above was rolled back too
        results = _apply_all(session, items, saved)
    counts = {s: 0 for s in ("accepted", "duplicate", "conflict", "rejected", "blocked")}
    for r in results:
        counts[r.status] += 1
    return schemas.SyncResult(results=results, **counts)


class _WriteWatch:
    """Counts the statements that write, outside flushes, on the session's connection while
    open (a digital ID's counter, say): an item that wrote before it failed cannot be skipped
    without a savepoint. (A flush writes the projected rows of the items before it, which
    were applied; the appends an item keeps are counted by the store.)"""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.writes = 0
        self._conn: sa.Connection | None = None

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # `_flushing`: SQLAlchemy's own flag for "inside Session.flush()"
        if not self.session._flushing and statement.lstrip()[:6].upper() in _WRITES:
            self.writes += 1

    def __enter__(self) -> _WriteWatch:
        self._conn = self.session.connection()
        sa.event.listen(self._conn, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            sa.event.remove(self._conn, "before_cursor_execute", self._count)


_WRITES = {"INSERT", "UPDATE", "DELETE"}


def _apply_all(
    session: Session,
    items: list[schemas.MobileAction],
    attempt: Callable[[schemas.MobileAction], schemas.ItemResult],
) -> list[schemas.ItemResult]:
    """Each item in order through `attempt`; a refused item blocks the later ones that need
    it (the same lot, or named in `depends_on`)."""
    failed_lots: dict[UUID, UUID] = {}  # lot id -> event id of the item that failed on it
    failed_events: set[UUID] = set()
    results: list[schemas.ItemResult] = []
    for item in items:
        lot_id = mobile_service.lot_key(item)
        blocker = next((e for e in item.depends_on if e in failed_events), None)
        if blocker is None and lot_id is not None:
            blocker = failed_lots.get(lot_id)
        if blocker is not None:
            result = schemas.ItemResult(
                event_id=item.event_id,
                action=item.action,
                status="blocked",
                blocked_by=blocker,
                error="blocked",
                detail=f"not tried: it needs item {blocker}, which was not applied",
                detail_zh="前一步未成功，此步未执行",
            )
        else:
            try:
                result = attempt(item)
            except ConcurrencyConflict as exc:
                result = schemas.ItemResult(
                    event_id=item.event_id,
                    action=item.action,
                    status="conflict",
                    error=exc.code,
                    detail=exc.message,
                    detail_zh=ERROR_ZH["concurrency_conflict"],
                    current=mobile_service.current_lot(session, lot_id),
                )
            except DomainError as exc:
                result = _rejected(item, exc)
        if result.status not in OK:
            failed_events.add(item.event_id)
            if lot_id is not None:
                failed_lots.setdefault(lot_id, item.event_id)
        results.append(result)
    return results
