"""The ASGI application: `create_app()` wires routers, error handlers and the context."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio.to_thread
from fastapi import FastAPI

from app import tables  # noqa: F401 - every table registered before first use
from app.alerts.routes import router as alerts_router
from app.audit.routes import router as audit_router
from app.catalogue.routes import router as catalogue_router
from app.config import Settings, get_settings
from app.context import AppContext
from app.core import errors
from app.core.clock import Clock
from app.core.limits import BodyLimitMiddleware
from app.core.routing import CheckedRoute
from app.exports.routes import router as exports_router
from app.identity.routes import router as identity_router
from app.labelling.routes import router as labels_router
from app.lots.routes import router as lots_router
from app.manifests.routes import router as manifests_router
from app.migrate import require_schema_at_head
from app.parties.routes import router as parties_router
from app.rules.routes import router as rules_router
from app.scorecard.routes import router as scorecard_router
from app.web import mount as mount_web
from app.zones.routes import facility_router
from app.zones.routes import router as zones_router
from mobile_api.routes import mount as mount_mobile

DESCRIPTION = """
危险废物全过程追溯 — hazardous-waste chain of custody.

Every container of waste is a **lot** with an HJ 1276 e-label; every step is an event in an
append-only, hash-chained log. Sign in with `POST /api/v1/auth/token` (the **Authorize**
button). Errors share one body: `{"error": code, "detail": sentence, ...}`.
"""


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    ctx = AppContext.create(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        require_schema_at_head(ctx.db.engine)  # a server on an unmigrated database: refused
        # As many request threads as pooled connections (see Settings.db_pool_size).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        stop = threading.Event()
        minutes = settings.effective_sweep_minutes
        if minutes > 0:
            threading.Thread(
                target=_sweep_loop,
                args=(ctx, minutes * 60, stop),
                name="hazchain-sweep",
                daemon=True,
            ).start()
        yield
        stop.set()

    app = FastAPI(title="hazchain", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.router.route_class = CheckedRoute  # the app's own routes too (every router sets it)
    app.state.ctx = ctx
    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.limits.body_max_bytes,
        upload_max_bytes=settings.limits.upload_max_bytes,
        upload_prefixes=settings.limits.upload_prefixes,
    )
    routers = (
        identity_router,
        lots_router,
        labels_router,
        zones_router,
        facility_router,
        rules_router,
        alerts_router,
        catalogue_router,
        audit_router,
        manifests_router,
        parties_router,
        exports_router,
        scorecard_router,
    )
    # FastAPI tries routes in order: the handhelds' high-rate routes first (docs/benchmarks.md).
    mount_mobile(app)
    for router in routers:
        app.include_router(router)
    mount_web(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        with ctx.db.session(write=False) as session:
            session.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "database": ctx.db.dialect}

    return app


def _sweep_loop(ctx: AppContext, seconds: float, stop: threading.Event) -> None:
    """The scheduled storage sweep: first run shortly after start, then every `seconds`. Before
    it, each site's chain head is signed when it moved since a checkpoint older than
    `LEDGER__CHECKPOINT_HOURS`, and the chains are verified when the last recorded run is older
    than `VERIFY_INTERVAL_HOURS`, so a broken chain is an alert at the same sweep."""
    from app.alerts import service as alert_service
    from app.audit.jobs import sign_checkpoints_if_due, verify_if_due

    log = logging.getLogger("hazchain.sweep")
    delay = min(30.0, seconds)
    every = timedelta(hours=ctx.settings.verify_interval_hours)
    sign_every = timedelta(hours=ctx.settings.ledger.checkpoint_hours)
    while not stop.wait(delay):
        if sign_every:
            try:
                for cp in sign_checkpoints_if_due(ctx, sign_every):
                    log.info("checkpoint: site %s at %s", cp.site_id, cp.chain_position)
            except Exception:  # logged; tried again at the next sweep
                log.exception("scheduled checkpoints failed")
        if every:
            try:
                run = verify_if_due(ctx, every)
                if run is not None:
                    log.info("verify: %s, %s events", "ok" if run.ok else "BROKEN", run.events)
            except Exception:  # logged; tried again at the next sweep
                log.exception("scheduled verification failed")
        try:
            with ctx.db.session() as session:
                result = alert_service.sweep(session=session, ctx=ctx)
            log.info(
                "sweep: %s raised, %s cleared, %s open", result.raised, result.cleared, result.open
            )
        except Exception:  # a failed sweep is logged and retried at the next interval
            log.exception("sweep failed")
        delay = seconds
