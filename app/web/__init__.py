"""The EHS manager web console: server-rendered pages at `/`, another client of the same
services as `/api/v1` (architecture §7.20). Assets are served from `app/web/static/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    from app.web.routes import router
    from app.web.routes_admin import router as admin_router
    from app.web.routes_manifests import router as manifests_router

    app.include_router(router)
    app.include_router(manifests_router)
    app.include_router(admin_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
