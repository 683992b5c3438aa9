"""HJ 1259 入库 ledger: every entry into storage, append-only in spirit. A lot rejected by the
handler and returned is stored again: the ledger keeps its first storage-in (in its period, in
the facility it entered) and adds a second, and each storage-out names the storage-in it left
from. `rm_storage_in` holds the entries; the projector, a rebuild from the log and the
migration's backfill give the same rows. Both databases."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import sqlalchemy as sa

from app.domain.values import CHINA_TZ as CHINA
from app.migrate import downgrade, upgrade
from app.projections.base import rebuild
from tests.manifests.support import (
    Parties,
    draft,
    load_body,
    lot_of,
    ok,
    setup_parties,
    step,
    stored_lot,
    to_in_transit,
    to_received,
    uid,
)
from tests.support.client import Api

STORAGE_IN, STORAGE_OUT = 1, 2  # sheet indexes


def _day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def _second_facility(api: Api) -> str:
    """Zone A2 moves to a facility of its own, WH2 (A1 stays in WH1)."""
    admin = api.as_("admin")
    fac = ok(
        admin.post(
            "/api/v1/facilities",
            {
                "event_id": uid(),
                "site_id": str(api.world.site_a),
                "code": "WH2",
                "name": "二号危险废物贮存库",
                "type": "storage_warehouse",
                "surface_antiseepage": True,
            },
        ),
        201,
    )
    zone = ok(admin.get(f"/api/v1/zones/{api.world.zones['A2']}"))
    ok(
        admin.patch(
            f"/api/v1/zones/{api.world.zones['A2']}",
            {
                "event_id": uid(),
                "expected_version": zone["version"],
                "facility_id": fac["facility_id"],
            },
        )
    )
    return str(fac["facility_id"])


def _returned_and_shipped_again(api: Api, p: Parties, first_at: datetime) -> dict[str, Any]:
    """A lot stored in A1 at `first_at` (backdated), shipped, rejected by the handler, returned
    into A2 (stored again, now) and shipped again on a second manifest."""
    op = api.as_("operator")
    at = first_at.isoformat()
    lot = op.generate(occurred_at=at)
    lot = op.step(lot, "label", occurred_at=at)
    lot = op.step(lot, "store", zone_id=str(api.world.zones["A1"]), occurred_at=at)
    m = draft(api, [lot])
    m = to_received(api, p, m, weights={lot["lot_id"]: "90.0"})  # beyond tolerance: discrepancy
    m = step(
        api,
        "handler",
        m,
        "confirm",
        lots=[{"lot_id": lot["lot_id"], "outcome": "rejected"}],
        consignor_notified_at=datetime.now(UTC).isoformat(),
        eeb_report_ref="吴环报〔2026〕15号",
    )
    assert lot_of(api, lot["lot_id"])["status"] == "rejected"
    m = step(
        api,
        "ehs_manager",
        m,
        "returns",
        lot_ids=[lot["lot_id"]],
        zone_id=str(api.world.zones["A2"]),
        reason="重量不符，退回",
    )
    back = lot_of(api, lot["lot_id"])
    assert back["status"] == "stored" and back["zone_code"] == "A2"
    m2 = to_in_transit(api, p, draft(api, [back]))
    return {"lot": back, "first": m, "second": m2}


def _ledger(api: Api, start: date, end: date) -> list[list[tuple[Any, ...]]]:
    q = {"from": str(start), "to": str(end), "site_id": str(api.world.site_a)}
    r = api.as_("auditor").get("/api/v1/exports/ledger.xlsx", params=q)
    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    return [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]


def _entries(api: Api) -> list[tuple[Any, ...]]:
    with api.ctx.db.session(write=False) as s:
        return [
            tuple(r)
            for r in s.execute(
                sa.text(
                    "SELECT lot_id, seq, site_id, entered_at, zone_id, weight_kg "
                    "FROM rm_storage_in ORDER BY lot_id, seq"
                )
            )
        ]


def test_a_returned_lot_keeps_both_storage_ins_and_each_storage_out_names_its_own(
    api: Api,
) -> None:
    p = setup_parties(api)
    _second_facility(api)
    first_at = datetime.now(UTC) - timedelta(days=3)
    x = _returned_and_shipped_again(api, p, first_at)
    lot, digital_id = x["lot"], x["lot"]["digital_id"]
    today = _day(datetime.now(UTC))
    sheets = _ledger(api, _day(first_at), today)

    stin = [r for r in sheets[STORAGE_IN][1:] if r[2] == digital_id]
    assert len(stin) == 2, stin
    (first, second) = stin
    # dates, facilities (the zone each entry went into), codes per China day
    assert first[1].startswith(str(_day(first_at))) and second[1].startswith(str(today))
    assert (first[10], first[11]) == ("WH1", "贮存库")
    assert (second[10], second[11]) == ("WH2", "贮存库")
    assert first[0].startswith(f"HWRK{_day(first_at):%Y%m%d}")
    assert second[0].startswith(f"HWRK{today:%Y%m%d}")
    assert first[0] != second[0]
    assert first[14] == second[14] and first[14].startswith("HWCS")  # one generation
    assert first[8] == second[8] == 0.1255  # the weight at entry, in t

    out = [r for r in sheets[STORAGE_OUT][1:] if r[2] == digital_id]
    assert len(out) == 2, out
    by_manifest = {r[15].split("联单 ")[1].rstrip("）"): r for r in out}
    assert by_manifest[x["first"]["number"]][14] == first[0]  # left from its first entry
    assert by_manifest[x["second"]["number"]][14] == second[0]  # and from its second
    assert (by_manifest[x["second"]["number"]][10]) == "WH2"

    # the first period alone: the first storage-in is still there, code unchanged (nothing
    # rewritten by the return or the second entry)
    alone = _ledger(api, _day(first_at), _day(first_at))
    assert [r for r in alone[STORAGE_IN][1:] if r[2] == digital_id] == [first]

    # the projection holds both entries; a rebuild from the log gives the same rows
    entries = [
        e for e in _entries(api) if str(e[0]).replace("-", "") == lot["lot_id"].replace("-", "")
    ]
    assert [e[1] for e in entries] == [1, 2]
    before = _entries(api)
    with api.ctx.db.session() as s:
        rebuild(s)
    assert _entries(api) == before


def test_the_migration_fills_the_entries_from_the_log(api: Api) -> None:
    p = setup_parties(api)
    _second_facility(api)
    first_at = datetime.now(UTC) - timedelta(days=2)
    x = _returned_and_shipped_again(api, p, first_at)
    today = _day(datetime.now(UTC))
    before = _entries(api)
    sheets = _ledger(api, _day(first_at), today)
    assert len([r for r in sheets[STORAGE_IN][1:] if r[2] == x["lot"]["digital_id"]]) == 2

    downgrade(api.url, "c3d9e2f40a17")
    upgrade(api.url)
    assert _entries(api) == before
    assert _ledger(api, _day(first_at), today) == sheets


def test_a_dispatch_backdated_before_the_storage_in_still_names_it(api: Api) -> None:
    """Times are what people enter: a dispatch recorded as earlier than the lot's storage-in
    still points at that storage-in (the lot's first), rather than at nothing."""
    p = setup_parties(api)
    lot = stored_lot(api)
    m = step(api, "ehs_manager", draft(api, [lot]), "submit")
    m = step(api, "operator", m, "load", **load_body(p, m))
    code = ok(
        api.as_("transporter").post(
            f"/api/v1/manifests/{m['manifest_id']}/challenges", {"step": "dispatch"}
        ),
        201,
    )
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    step(api, "operator", m, "dispatch", counterpart_code=code["qr_payload"], occurred_at=when)
    day = _day(datetime.now(UTC))
    sheets = _ledger(api, day - timedelta(days=1), day)
    (stin,) = [r for r in sheets[STORAGE_IN][1:] if r[2] == lot["digital_id"]]
    (out,) = [r for r in sheets[STORAGE_OUT][1:] if r[2] == lot["digital_id"]]
    assert out[1] < stin[1] and out[14] == stin[0]


def test_a_zone_moved_to_another_facility_rewrites_no_ledger_row(api: Api) -> None:
    """Zone A2 starts in WH1 and moves to WH2. Entries and dispatches before the move keep WH1;
    a lot drafted before the move but dispatched after it left from WH2; entries after it are
    in WH2. The projector, a rebuild and the migration's backfill agree."""
    p = setup_parties(api)
    shipped = stored_lot(api, "A2")
    to_in_transit(api, p, draft(api, [shipped]))
    kept = stored_lot(api, "A2")
    drafted = stored_lot(api, "A2")
    m = draft(api, [drafted])
    _second_facility(api)
    to_in_transit(api, p, m)
    later = stored_lot(api, "A2")

    def facilities(sheets: list[list[tuple[Any, ...]]], sheet: int) -> dict[str, str]:
        ids = {x["digital_id"]: name for name, x in named.items()}
        return {ids[r[2]]: r[10] for r in sheets[sheet][1:] if r[2] in ids}

    named = {"shipped": shipped, "kept": kept, "drafted": drafted, "later": later}
    today = _day(datetime.now(UTC))
    sheets = _ledger(api, today - timedelta(days=1), today)
    assert facilities(sheets, STORAGE_IN) == {
        "shipped": "WH1",
        "kept": "WH1",
        "drafted": "WH1",
        "later": "WH2",
    }
    assert facilities(sheets, STORAGE_OUT) == {"shipped": "WH1", "drafted": "WH2"}

    with api.ctx.db.session() as s:
        rebuild(s)
    assert _ledger(api, today - timedelta(days=1), today) == sheets
    downgrade(api.url, "e8b2c6d1f0a3")
    upgrade(api.url)
    assert _ledger(api, today - timedelta(days=1), today) == sheets
