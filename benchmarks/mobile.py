"""Handheld API benchmark (issue 5), on PostgreSQL.

- **Scan**: `GET /mobile/v1/scan/{digital id}` with 100,000 lots in `rm_lot`, at 32 concurrent
  connections, beside a bare FastAPI endpoint in the same server returning a fixed body (a sync
  `def`: threadpool and JSON path), first in the route table as the handheld routes are,
  measured in the same run (`HAZCHAIN_BENCH_BARE_LAST=1`: last, as before session 5).
  The load driver is a small httpx/asyncio client, bounded in request count and time; then
  the same load from wrk (C, one thread) when it is installed, which takes far less of the
  two shared cores, so the server's own cost shows; with it, the server's and PostgreSQL's CPU
  time per request (from /proc), which the machine's noise moves less than requests/s.
- **Sync**: `POST /mobile/v1/sync` with batches of 100 actions (weigh + inspect on 50 lots),
  one batch after another from one client, after three untimed warm-up batches.

The server is uvicorn (one process) on 127.0.0.1 in a subprocess, so the driver does not share
its interpreter. The 100,000 lots are bulk-inserted straight into the `rm_lot` projection (valid
HJ 1276 IDs, status labelled) because generating them through the service would take minutes;
scan reads only projections, so this is a fair read benchmark. They have no events, so the sync
batches act on 1,000 lots generated and labelled through the real use cases first.

    python -c "from benchmarks import mobile; print(mobile.markdown(mobile.run()))"
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

JWT_SECRET = "bench-jwt-secret-with-enough-entropy-0123456789abcdef"
SIGNING_SEED = "5a" * 32
WASTE_CODE = "900-039-49"


def bench_app() -> Any:
    """The app the benchmark serves (uvicorn --factory): ours, plus the bare baseline."""
    from app.main import create_app

    app = create_app()

    @app.get("/bench/bare", include_in_schema=False)
    def bare() -> dict[str, Any]:
        return {"kind": "lot", "code": "X" * 37, "actions": [{"action": "weigh", "allowed": True}]}

    # First in the route table, as the handheld routes are (FastAPI tries routes in order), so
    # neither pays for matching the other routes: the baseline is the framework's floor.
    # HAZCHAIN_BENCH_BARE_LAST=1 leaves it last, as sessions before 5 measured it.
    if os.environ.get("HAZCHAIN_BENCH_BARE_LAST") != "1":
        app.router.routes.insert(0, app.router.routes.pop())
    return app


# ---------------------------------------------------------------- data


def _settings(url: str, tmp: Path) -> Any:
    from app.config import Environment, Settings

    return Settings(
        app_env=Environment.testing,
        database_url=url,
        var_dir=tmp,
        jwt_secret=JWT_SECRET,
        site_signing_seed=SIGNING_SEED,
    )


def _prepare(url: str, tmp: Path, lots: int, sync_lots: int) -> dict[str, Any]:
    """World, 100k bulk lots, `sync_lots` real lots, an enrolled device with a session."""
    import sqlalchemy as sa

    from app.context import AppContext
    from app.identity import devices
    from app.labelling import service as labelling
    from app.lots import schemas as lot_schemas
    from app.lots import service as lot_service
    from app.projections.lots import LotRow
    from labels.ids import format_digital_id
    from tests.support.world import PASSWORD, build_world

    world = build_world(url, tmp)
    ctx = AppContext.create(_settings(url, tmp))
    site = world.site_a
    with ctx.db.session() as s:
        uscc = labelling.unit_code_of_site(session=s, site_id=site)
    now = datetime.now(UTC)
    table = LotRow.__table__  # type: ignore[attr-defined]
    codes: list[str] = []
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    with ctx.db.engine.begin() as conn:
        for i in range(lots):
            day = date(2025, 1, 1) + timedelta(days=i // 999)
            digital_id = format_digital_id(uscc, WASTE_CODE, day, i % 999 + 1)
            codes.append(digital_id)
            chunk.append(
                {
                    "lot_id": uuid4(),
                    "site_id": site,
                    "version": 2,
                    "status": "labelled",
                    "kind": "hazardous",
                    "name": "废活性炭",
                    "category": "HW49",
                    "waste_code": WASTE_CODE,
                    "hazard_characteristics": "T",
                    "physical_form": "solid",
                    "container_type": "bag",
                    "container_volume_l": Decimal(200),
                    "condition": "intact",
                    "weight_kg": Decimal("125.5"),
                    "digital_id": digital_id,
                    "label_prints": 1,
                    "generated_at": now,
                    "labelled_at": now,
                    "last_event_at": now,
                    "properties": "",
                }
            )
            if len(chunk) == 5000:
                conn.execute(table.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(table.insert(), chunk)
    bulk_seconds = time.perf_counter() - started

    from app.identity.service import principal_for

    with ctx.db.session() as s:
        operator = principal_for(session=s, user_id=world.users["operator"])
    real: list[dict[str, Any]] = []
    for start in range(0, sync_lots, 100):
        with ctx.db.session() as s:
            for i in range(start, min(start + 100, sync_lots)):
                g = lot_service.generate_lot(
                    session=s,
                    ctx=ctx,
                    actor=operator,
                    cmd=lot_schemas.LotGenerate(
                        event_id=uuid4(),
                        site_id=site,
                        name="废有机溶剂",
                        waste_code="900-402-06",
                        physical_form="liquid",
                        container={"type": "drum", "volume_l": "200"},
                        weight_kg=Decimal(150),
                        # HJ 1276 numbers at most 999 lots per unit, code and day
                        occurred_at=now - timedelta(days=i // 900),
                        main_components="乙醇、丙酮",
                        harmful_components="丙酮",
                        precautions="远离火源",
                    ),
                )
                lab = lot_service.label_lot(
                    session=s,
                    ctx=ctx,
                    actor=operator,
                    lot_id=g.lot.lot_id,
                    cmd=lot_schemas.LotLabel(event_id=uuid4(), expected_version=1),
                )
                real.append({"lot_id": str(lab.lot.lot_id), "version": lab.lot.version})
    with ctx.db.session() as s:
        admin = principal_for(session=s, user_id=world.users["admin"])
        device, _ = devices.enrol_device(
            session=s, ctx=ctx, actor=admin, site_id=site, name="BENCH"
        )
        _, issued = devices.sign_in(
            session=s, ctx=ctx, device=device, username="operator", password=PASSWORD
        )
    with ctx.db.engine.connect() as c:
        count = c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    ctx.db.dispose()
    return {
        "codes": codes,
        "real": real,
        "token": issued.token,
        "bulk_seconds": bulk_seconds,
        "rm_lot_rows": int(count),
    }


# ---------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": url,
        "JWT_SECRET": JWT_SECRET,
        "SITE_SIGNING_SEED": SIGNING_SEED,
        "VAR_DIR": str(tmp),
    }
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.mobile:bench_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=root,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the benchmark server exited") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the benchmark server did not start")


# ---------------------------------------------------------------- load driver


async def _load(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    max_seconds: float,
) -> dict[str, float]:
    """GET each path once (or until `max_seconds`) over `concurrency` connections."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    it = iter(paths)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        # warm-up: open the connections, fill caches
        await asyncio.gather(
            *(c.get(paths[i % len(paths)]) for i in range(concurrency * 4)), return_exceptions=True
        )
        deadline = time.perf_counter() + max_seconds

        async def worker() -> None:
            nonlocal errors
            for path in it:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    r = await c.get(path)
                    ok = r.status_code == 200
                except httpx.TransportError:  # counted, as wrk counts socket errors
                    ok = False
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "seconds": elapsed,
        "rps": n / elapsed,
        "p50_ms": latencies[n // 2] * 1000,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000,
    }


_WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {["Authorization"] = "%(auth)s"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%f %%d %%d\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99)))
end
"""


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on this machine (its backends serve the server)."""
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                total += _cpu_seconds(int(proc.name))
        except OSError:
            continue
    return total


def _wrk(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    server_pid: int | None = None,
) -> dict[str, float] | None:
    """The same load from wrk (C, one thread): far less client CPU on the shared cores than
    the Python driver, so the server is the bottleneck. None when wrk is not installed.
    With `server_pid`, also the server's and PostgreSQL's CPU time per request, which the
    machine's noise moves far less than requests per second."""
    if shutil.which("wrk") is None:
        return None
    quoted = ",".join(f'"{p}"' for p in paths[:5000])
    script = _WRK_SCRIPT % {"paths": quoted, "auth": headers["Authorization"]}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        # warm-up, then the measured run
        subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", "-d2s", "-s", f.name, base],
            capture_output=True, check=True,
        )  # fmt: skip
        app0, pg0 = _cpu_seconds(server_pid or 0), _postgres_cpu_seconds()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{int(seconds)}s", "--timeout", "10s",
             "-s", f.name, base],
            capture_output=True, check=True, text=True,
        ).stdout  # fmt: skip
        app_s = _cpu_seconds(server_pid or 0) - app0
        pg_s = _postgres_cpu_seconds() - pg0
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    n, errors, elapsed, p50, p99 = line.split()[1:]
    return {
        "requests": int(n),
        "errors": int(errors),
        "seconds": float(elapsed),
        "rps": int(n) / float(elapsed),
        "p50_ms": int(p50) / 1000,
        "p99_ms": int(p99) / 1000,
        "app_cpu_ms": app_s * 1000 / int(n),
        "pg_cpu_ms": pg_s * 1000 / int(n),
    }


def _sync_batches(
    base: str, token: str, real: list[dict[str, Any]], size: int, warmup: int = 3
) -> dict[str, float]:
    """Batches of `size` (weigh + inspect per lot), one after another from one client; the
    first `warmup` batches (on lots of their own) are sent untimed, as the scan driver warms
    up: a fresh server compiles and prepares each statement on its first uses."""
    import httpx

    per_lot = 2
    lots_per_batch = size // per_lot
    batches = []
    now = datetime.now(UTC).isoformat()
    for b in range(len(real) // lots_per_batch):
        items = []
        for lot in real[b * lots_per_batch : (b + 1) * lots_per_batch]:
            v = lot["version"]
            common = {"lot_id": lot["lot_id"], "occurred_at": now}
            items.append(
                {**common, "action": "weigh", "event_id": str(uuid4()), "expected_version": v,
                 "weight_kg": "151.5"}
            )  # fmt: skip
            items.append(
                {**common, "action": "inspect", "event_id": str(uuid4()),
                 "expected_version": v + 1, "condition": "intact"}
            )  # fmt: skip
        batches.append(items)
    headers = {"Authorization": f"Bearer {token}"}
    warm, batches = batches[:warmup], batches[warmup:]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as c:
        for items in warm:
            c.post("/mobile/v1/sync", json={"items": items}).raise_for_status()
            c.post("/mobile/v1/sync", json={"items": items}).raise_for_status()  # resent
        started = time.perf_counter()
        accepted = 0
        for items in batches:
            r = c.post("/mobile/v1/sync", json={"items": items})
            r.raise_for_status()
            accepted += r.json()["accepted"]
        elapsed = time.perf_counter() - started
        # the same batches again: every item a duplicate, nothing written
        started = time.perf_counter()
        dups = 0
        for items in batches:
            dups += c.post("/mobile/v1/sync", json={"items": items}).json()["duplicate"]
        dup_elapsed = time.perf_counter() - started
    actions = sum(len(b) for b in batches)
    return {
        "batches": len(batches),
        "actions": actions,
        "accepted": accepted,
        "seconds": elapsed,
        "actions_per_s": actions / elapsed,
        "duplicates": dups,
        "duplicate_actions_per_s": actions / dup_elapsed,
    }


# ---------------------------------------------------------------- entry points


def run(
    lots: int = 100_000,
    concurrency: int = 32,
    requests: int = 20_000,
    max_seconds: float = 30.0,
    sync_lots: int = 1_150,
    batch_size: int = 100,
) -> dict[str, Any]:
    """Scan vs bare endpoint at `concurrency` connections, then sync batches; PostgreSQL."""
    from benchmarks.common import PG_URL, database

    if not PG_URL:
        raise RuntimeError(
            "HAZCHAIN_BENCH_POSTGRES_URL is not set (the benchmark needs PostgreSQL)"
        )
    with tempfile.TemporaryDirectory() as tmp, database("postgresql") as url:
        data = _prepare(url, Path(tmp), lots, sync_lots)
        proc, base = _serve(url, Path(tmp))
        try:
            rng = random.Random(5)
            codes = [rng.choice(data["codes"]) for _ in range(requests)]
            headers = {"Authorization": f"Bearer {data['token']}"}
            bare = asyncio.run(
                _load(base, ["/bench/bare"] * requests, headers, concurrency, max_seconds)
            )
            scan = asyncio.run(
                _load(
                    base, [f"/mobile/v1/scan/{c}" for c in codes], headers, concurrency, max_seconds
                )
            )
            scan_paths = [f"/mobile/v1/scan/{c}" for c in codes]
            seconds = min(max_seconds, 15)
            wrk_bare = _wrk(base, ["/bench/bare"], headers, concurrency, seconds, proc.pid)
            wrk_scan = _wrk(base, scan_paths, headers, concurrency, seconds, proc.pid)
            sync = _sync_batches(base, data["token"], data["real"], batch_size)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return {
        "lots": data["rm_lot_rows"],
        "bulk_load_s": data["bulk_seconds"],
        "concurrency": concurrency,
        "bare": bare,
        "scan": scan,
        "throughput_ratio": scan["rps"] / bare["rps"],
        "p99_ratio": scan["p99_ms"] / bare["p99_ms"],
        "wrk": {"bare": wrk_bare, "scan": wrk_scan} if wrk_bare and wrk_scan else None,
        "sync": sync,
        "batch_size": batch_size,
    }


def markdown(r: dict[str, Any]) -> str:
    b, s, y = r["bare"], r["scan"], r["sync"]
    lines = [
        f"PostgreSQL, {r['lots']:,} lots in `rm_lot`, {r['concurrency']} concurrent connections, "
        "one uvicorn process, httpx/asyncio driver.\n",
        "| endpoint | requests | errors | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| bare FastAPI (fixed body) | {b['requests']} | {b['errors']} | {b['rps']:.0f} "
        f"| {b['p50_ms']:.1f} | {b['p99_ms']:.1f} |",
        f"| `GET /mobile/v1/scan/{{digital id}}` | {s['requests']} | {s['errors']} | {s['rps']:.0f} "
        f"| {s['p50_ms']:.1f} | {s['p99_ms']:.1f} |",
        "",
        f"Scan throughput {r['throughput_ratio']:.0%} of the bare endpoint (aim ≥ 50 %); "
        f"p99 {r['p99_ratio']:.1f}× (aim ≤ 2×).\n",
        *_wrk_lines(r),
        f"Sync, batches of {r['batch_size']}: {y['actions']} actions in {y['batches']} batches, "
        f"{y['accepted']} accepted, **{y['actions_per_s']:.0f} actions/s** (aim ≥ 1,000); the same "
        f"batches resent: {y['duplicates']} duplicates, {y['duplicate_actions_per_s']:.0f} "
        "actions/s, nothing written.\n",
    ]
    return "\n".join(lines)


def _wrk_lines(r: dict[str, Any]) -> list[str]:
    w = r.get("wrk")
    if not w:
        return ["(wrk is not installed: no second driver.)\n"]
    b, s = w["bare"], w["scan"]
    return [
        f"The same with wrk (one C thread, {r['concurrency']} connections, 15 s each), which "
        "leaves the server more of the two cores:\n",
        "| endpoint | requests | errors | req/s | p50 ms | p99 ms | server CPU ms/req "
        "| PostgreSQL CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| bare FastAPI (fixed body) | {b['requests']} | {b['errors']} | {b['rps']:.0f} "
        f"| {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {b['app_cpu_ms']:.2f} "
        f"| {b['pg_cpu_ms']:.2f} |",
        f"| `GET /mobile/v1/scan/{{digital id}}` | {s['requests']} | {s['errors']} "
        f"| {s['rps']:.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['app_cpu_ms']:.2f} "
        f"| {s['pg_cpu_ms']:.2f} |",
        "",
        f"With wrk: scan throughput {s['rps'] / b['rps']:.0%} of the bare endpoint; p99 "
        f"{s['p99_ms'] / b['p99_ms']:.1f}×.\n",
    ]


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    result = run(lots=10_000, requests=3_000, sync_lots=550) if quick else run()
    print(markdown(result))
