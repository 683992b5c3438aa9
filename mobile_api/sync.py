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
- `rejected`: refused, with the error and the rule findings in plain words; an item that is
  not a valid action at all (a field missing or malformed) is answered `rejected` with
  `validation_error` and its `fields`, and the rest of the batch goes on;
- `blocked`: not tried, because an earlier item it needs (one on the same lot, or one named in
  `depends_on`) was not applied; `blocked_by` names that item.

Every answer carries the item's `index` in the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.context import AppContext
from app.core.db import keep_rows
from app.domain.errors import ConcurrencyConflict, Conflict, DomainError, RuleViolation
from app.eventstore.store import DeferredWritesLost, EventStore
from app.identity.permissions import Principal
from app.lots.service import LOT_NAMESPACE
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


# ---------------------------------------------------------------- malformed items

ACTION: TypeAdapter[schemas.MobileAction] = TypeAdapter(schemas.MobileAction)

# The fields of the actions, in the handheld's words.
FIELD_ZH = {
    "action": "操作类型",
    "event_id": "操作编号",
    "occurred_at": "发生时间",
    "depends_on": "前置操作",
    "lot_id": "废物编号",
    "expected_version": "版本号",
    "override_reason": "强制执行理由",
    "zone_id": "区域",
    "zone_code": "区域码",
    "scanned_code": "扫描码",
    "site_id": "厂区",
    "kind": "废物种类",
    "name": "废物名称",
    "waste_code": "废物代码",
    "general_class": "一般固废类别",
    "general_category": "一般固废代码",
    "hazard_characteristics": "危险特性",
    "physical_form": "形态",
    "container": "容器",
    "type": "容器类型",
    "volume_l": "容积",
    "weight_kg": "重量",
    "main_components": "主要成分",
    "harmful_components": "有害成分",
    "precautions": "注意事项",
    "source": "来源",
    "remarks": "备注",
    "properties": "特性",
    "headspace_mm": "顶部空间",
    "organic_matter_pct": "有机质含量",
    "soluble_salts_pct": "可溶盐含量",
    "identification_report": "鉴别报告编号",
    "collected_unsorted": "混合收集",
    "label_size_mm": "标签尺寸",
    "copies": "份数",
    "scale_id": "秤编号",
    "condition": "容器状况",
    "notes": "备注",
    "note": "备注",
    "discarded_on": "清运日期",
    "reason": "原因",
    "items": "巡检项",
    "manifest_id": "联单",
    "manifest_number": "联单号",
    "vehicle_plate": "车牌号",
    "outcome": "接收结果",
    "received_weight_kg": "接收称重",
    "accepted_weight_kg": "接收量",
    "mismatches": "不符项",
}
_NUMBER = "不是有效的数字"
# pydantic's error types, in plain words ({...}: the error's own context)
REASON_ZH = {
    "missing": "未填写",
    "string_too_long": "太长（最多 {max_length} 个字符）",
    "string_too_short": "太短（至少 {min_length} 个字符）",
    "too_long": "太多（最多 {max_length} 项）",
    "too_short": "太少（至少 {min_length} 项）",
    "decimal_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "int_parsing": _NUMBER,
    "int_type": _NUMBER,
    "int_from_float": "须为整数",
    "finite_number": _NUMBER,
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "须小于 {lt}",
    "decimal_max_places": "小数最多 {decimal_places} 位",
    "decimal_max_digits": "位数太多",
    "decimal_whole_digits": "位数太多",
    "uuid_parsing": "格式不对",
    "uuid_type": "格式不对",
    "datetime_parsing": "格式不对",
    "datetime_type": "格式不对",
    "datetime_from_date_parsing": "格式不对",
    "timezone_aware": "须带时区",
    "out_of_calendar": "须在 {first} 年至 {last} 年之间（请检查设备时钟）",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "union_tag_invalid": "不认识（{tag}）",
    "union_tag_not_found": "未填写",
    "extra_forbidden": "不是此操作的字段",
    "bool_parsing": "须为是或否",
    "bool_type": "须为是或否",
    "string_type": "须为文字",
}


@dataclass(frozen=True)
class _Malformed:
    """An item that is not a valid action: answered `rejected` as it stands, and counted as
    failed for the items after it (by its event id and lot, where those can be read)."""

    result: schemas.ItemResult
    event_id: UUID | None
    lot_id: UUID | None


Entry = schemas.MobileAction | _Malformed


def _uuid(value: object) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _field_zh(loc: Sequence[str | int]) -> str:
    """The most specific field of `loc` the handheld has a name for."""
    for part in reversed(loc):
        if isinstance(part, str) and part in FIELD_ZH:
            return FIELD_ZH[part]
    return ".".join(str(p) for p in loc) or "操作"


def _reason_zh(error: ErrorDetails) -> str:
    if error["type"] == "value_error":  # a model's own check: its words
        return f"有误（{error['msg'].removeprefix('Value error, ')}）"
    template = REASON_ZH.get(error["type"], "格式不对")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split("（")[0]


def _malformed(index: int, raw: object, exc: ValidationError) -> _Malformed:
    """The answer to an item that is not a valid action: `validation_error`, with its fields
    as a 422 answer would name them and the reasons in plain words."""
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    action = data.get("action")
    sent = data.get("event_id")
    event_id = _uuid(sent)
    lot_id = _uuid(data.get("lot_id"))
    if lot_id is None and action == "generate" and event_id is not None:
        lot_id = uuid5(LOT_NAMESPACE, str(event_id))  # as `mobile_service.lot_key`
    errors = exc.errors(include_url=False, include_input=False)
    fields: list[schemas.FieldError] = []
    en: list[str] = []
    zh: list[str] = []
    for e in errors:
        loc = list(e["loc"])
        if loc and loc[0] == action:  # the union's tag: the action named by the item itself
            loc = loc[1:]
        where: list[str | int] = ["body", "items", index, *e["loc"]]  # as a 422 names it
        fields.append(schemas.FieldError(loc=where, msg=e["msg"], type=e["type"]))
        en.append(f"{'.'.join(str(p) for p in loc) or 'item'}: {e['msg']}")
        if not isinstance(raw, dict):
            zh.append("不是一条操作（格式不对）")
        elif loc == ["action"] or e["type"].startswith("union_tag"):
            zh.append(f"操作类型{_reason_zh(e)}")
        else:
            zh.append(f"{_field_zh(loc)}{_reason_zh(e)}")
    zh = list(dict.fromkeys(zh))
    more = f"（另有 {len(zh) - 3} 项）" if len(zh) > 3 else ""
    return _Malformed(
        result=schemas.ItemResult(
            event_id=event_id if event_id is not None or sent is None else str(sent),
            action=action if isinstance(action, str) else "",
            status="rejected",
            error="validation_error",
            detail=f"invalid item: {'; '.join(en[:5])}",
            detail_zh=f"{ERROR_ZH['validation_error']}：{'；'.join(zh[:3])}{more}",
            fields=fields,
        ),
        event_id=event_id,
        lot_id=lot_id,
    )


def parse_items(items: Sequence[object]) -> list[Entry]:
    """Each item of a batch checked on its own: the action, or the answer to a malformed one."""
    out: list[Entry] = []
    for index, raw in enumerate(items):
        if isinstance(raw, BaseModel):  # already an action (a caller in Python)
            out.append(raw)  # type: ignore[arg-type]
            continue
        try:
            out.append(ACTION.validate_python(raw))
        except ValidationError as exc:
            out.append(_malformed(index, raw, exc))
    return out


# ---------------------------------------------------------------- applying a batch


class _Unbatchable(Exception):
    """An item failed after it had written something: only a savepoint of its own can undo
    that, so the batch is applied again item by item."""


def sync_batch(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    items: Sequence[object],
) -> schemas.SyncResult:
    """Apply a batch of queued actions in order; answer per item (see the module docstring).
    `items`: as sent (each is checked here, on its own) or actions already.

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
    entries = parse_items(items)
    actions = [e for e in entries if not isinstance(e, _Malformed)]
    keep_rows(session)  # consecutive steps on a lot find its rows in the identity map
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    try:
        with session.begin_nested():
            site_id = next(iter(actor.site_ids)) if len(actor.site_ids) == 1 else None
            lots = list(dict.fromkeys(k for k in map(mobile_service.lot_key, actions) if k))
            store.prefetch([i.event_id for i in actions], site_id=site_id, stream_ids=lots)
            mobile_service.preload_lots(session, lots)
            with (
                _WriteWatch(session) as watch,
                deferred_flush(session),
                store.deferred_writes(len(actions)),
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

                results = _apply_all(session, entries, unsaved)
                session.flush()
    except (_Unbatchable, DeferredWritesLost, DBAPIError, Conflict):
        # Conflict: the final write met a concurrent writer (the items' own are answered)

        def saved(item: schemas.MobileAction) -> schemas.ItemResult:
            with session.begin_nested():
                return mobile_service.apply(session=session, ctx=ctx, actor=actor, item=item)

        store.prefetch([i.event_id for i in actions])  # the lookup above was rolled back too
        results = _apply_all(session, entries, saved)
    counts = {s: 0 for s in ("accepted", "duplicate", "conflict", "rejected", "blocked")}
    for index, r in enumerate(results):
        r.index = index
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
    items: list[Entry],
    attempt: Callable[[schemas.MobileAction], schemas.ItemResult],
) -> list[schemas.ItemResult]:
    """Each item in order through `attempt`; a refused item (or a malformed one) blocks the
    later ones that need it (the same lot, or named in `depends_on`)."""
    failed_lots: dict[UUID, int] = {}  # lot id -> index of the first item that failed on it
    failed_events: dict[UUID, int] = {}  # event id -> index of the item that failed
    results: list[schemas.ItemResult] = []
    for index, item in enumerate(items):
        if isinstance(item, _Malformed):
            event_id, lot_id = item.event_id, item.lot_id
            result = item.result.model_copy(deep=True)
        else:
            event_id, lot_id = item.event_id, mobile_service.lot_key(item)
            blocker = next((failed_events[e] for e in item.depends_on if e in failed_events), None)
            if blocker is None and lot_id is not None:
                blocker = failed_lots.get(lot_id)
            if blocker is not None:
                result = _blocked(item, blocker, results[blocker].event_id)
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
            if event_id is not None:
                failed_events.setdefault(event_id, index)
            if lot_id is not None:
                failed_lots.setdefault(lot_id, index)
        results.append(result)
    return results


def _blocked(
    item: schemas.MobileAction, index: int, blocker: UUID | str | None
) -> schemas.ItemResult:
    """Not tried: the item at `index` of the batch, which it needs, was not applied."""
    by = blocker if isinstance(blocker, UUID) else None
    return schemas.ItemResult(
        event_id=item.event_id,
        action=item.action,
        status="blocked",
        blocked_by=by,
        error="blocked",
        detail=f"not tried: it needs item {by or f'#{index} of the batch'}, which was not applied",
        detail_zh="前一步未成功，此步未执行",
    )
