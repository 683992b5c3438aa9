"""Two app processes (two uvicorn servers) on one PostgreSQL database under concurrent load:
lot generation over the API, handheld sync batches, scans and manifest drafts, spread over
both servers from several threads at once (bounded: ~150 requests, loopback only).

Then: every request answered 2xx, no digital ID or manifest number given twice, every event
of an accepted request is in the log (none lost), and every chain verifies.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa

from app.eventstore.verify import verify_chains
from tests.mobile.conftest import Handheld, generate_item
from tests.security.server import Server
from tests.support.client import Api, lot_body

pytestmark = pytest.mark.postgres


def test_two_servers_under_concurrent_load(pg_api: Api, tmp_path: Path) -> None:
    from tests.manifests.support import TODAY, setup_parties, stored_lot, uid

    api = pg_api
    w = api.world
    setup_parties(api)
    for_manifests = [stored_lot(api) for _ in range(6)]
    op = api.as_("operator")
    to_scan = [op.step(op.generate(), "label") for _ in range(4)]
    pdas = [Handheld(api, w.site_a, "operator") for _ in range(2)]
    with api.ctx.db.engine.connect() as c:
        events_before = c.exec_driver_sql("SELECT count(*) FROM stored_event").scalar_one()

    servers = [Server(api.url, tmp_path / f"s{i}") for i in range(2)]
    accepted: list[str] = []  # event ids of every accepted write
    failures: list[str] = []
    digital_ids: list[str] = []
    numbers: list[str] = []
    lock = threading.Lock()

    def record(r: httpx.Response, what: str) -> bool:
        if r.status_code >= 300:
            with lock:
                failures.append(f"{what}: {r.status_code} {r.text[:200]}")
            return False
        return True

    def generate(n: int, k: int) -> None:
        headers = {"Authorization": f"Bearer {api.token('operator')}"}
        with httpx.Client(timeout=60) as c:
            for i in range(k):
                body = lot_body(w.site_a)
                r = c.post(f"{servers[(n + i) % 2].base}/api/v1/lots", json=body, headers=headers)
                if record(r, "generate"):
                    with lock:
                        accepted.append(body["event_id"])
                        digital_ids.append(r.json()["lot"]["digital_id"])

    def sync(n: int, batches: int) -> None:
        headers = {"Authorization": f"Bearer {pdas[n].token}"}
        with httpx.Client(timeout=60) as c:
            for b in range(batches):
                items = [generate_item() for _ in range(5)]
                r = c.post(
                    f"{servers[(n + b) % 2].base}/mobile/v1/sync",
                    json={"items": items},
                    headers=headers,
                )
                if record(r, "sync"):
                    for res in r.json()["results"]:
                        if res["status"] != "accepted":
                            with lock:
                                failures.append(f"sync item: {res}")
                            continue
                        with lock:
                            accepted.append(res["event_id"])
                            digital_ids.append(res["lot"]["digital_id"])

    def scan(n: int, k: int) -> None:
        headers = {"Authorization": f"Bearer {pdas[n].token}"}
        with httpx.Client(timeout=60) as c:
            for i in range(k):
                code = quote(to_scan[i % len(to_scan)]["digital_id"], safe="")
                r = c.get(f"{servers[i % 2].base}/mobile/v1/scan/{code}", headers=headers)
                record(r, "scan")

    def draft(n: int, lots: list[dict[str, Any]]) -> None:
        headers = {"Authorization": f"Bearer {api.token('ehs_manager')}"}
        with httpx.Client(timeout=60) as c:
            for i, lot in enumerate(lots):
                body = {
                    "event_id": uid(),
                    "site_id": str(w.site_a),
                    "handler_enterprise_id": str(w.handler_org),
                    "carrier_enterprise_id": str(w.carrier_org),
                    "planned_date": str(TODAY),
                    "emergency_measures": "泄漏时用吸附棉围堵",
                    "lines": [
                        {
                            "waste_code": lot["waste_code"],
                            "lot_ids": [lot["lot_id"]],
                            "planned_method": "D10",
                            "un_number": "UN3077",
                            "dg_class": "9",
                        }
                    ],
                }
                r = c.post(
                    f"{servers[(n + i) % 2].base}/api/v1/manifests", json=body, headers=headers
                )
                if record(r, "draft"):
                    with lock:
                        accepted.append(body["event_id"])
                        numbers.append(r.json()["manifest"]["number"])

    work = [
        *(threading.Thread(target=generate, args=(n, 8)) for n in range(4)),
        *(threading.Thread(target=sync, args=(n, 4)) for n in range(2)),
        *(threading.Thread(target=scan, args=(n, 15)) for n in range(2)),
        threading.Thread(target=draft, args=(0, for_manifests[:3])),
        threading.Thread(target=draft, args=(1, for_manifests[3:])),
    ]
    try:
        for t in work:
            t.start()
        for t in work:
            t.join(180)
    finally:
        for s in servers:
            s.stop()

    assert not failures, "\n".join(failures[:20])
    assert len(digital_ids) == 4 * 8 + 2 * 4 * 5 and len(numbers) == 6
    assert len(set(digital_ids)) == len(digital_ids)
    assert len(set(numbers)) == len(numbers)
    with api.ctx.db.engine.connect() as c:
        dup_ids = c.exec_driver_sql(
            "SELECT digital_id FROM rm_lot GROUP BY digital_id HAVING count(*) > 1"
        ).all()
        dup_numbers = c.exec_driver_sql(
            "SELECT number FROM rm_manifest GROUP BY number HAVING count(*) > 1"
        ).all()
        assert dup_ids == [] and dup_numbers == []
        found = c.execute(
            sa.text("SELECT count(*) FROM stored_event WHERE event_id = ANY(:ids)"),
            {"ids": [UUID(e) for e in accepted]},
        ).scalar_one()
        assert found == len(accepted)  # no lost events
        total = c.exec_driver_sql("SELECT count(*) FROM stored_event").scalar_one()
        assert total >= events_before + len(accepted)
        report = verify_chains(c, api.ctx.keys.public_key)
    assert report.ok, report.summary()
    assert report.events == total
