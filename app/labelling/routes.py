"""Label API (`/api/v1/labels`) and the file response shared by label, code and sign routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, ReadSessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.labelling import schemas
from app.labelling import service as labelling_service
from app.labelling.service import Rendered

router = APIRouter(prefix="/api/v1/labels", tags=["labels"], route_class=CheckedRoute)

Reader = require(Permission.lot_read)


def file_responses(media_type: str, *codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route answering a file of `media_type`."""
    return {200: {"content": {media_type: {}}, "description": "the file"}} | error_responses(*codes)


def inline(rendered: Rendered) -> Response:
    """The file, shown in the browser (`Content-Disposition: inline`) with its file name."""
    name = rendered.filename
    if name.isascii():
        disposition = f'inline; filename="{name}"'
    else:
        fallback = name.encode("ascii", "replace").decode().replace("?", "_")
        disposition = f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        content=rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


@router.post(
    "/batch",
    response_class=Response,
    responses=file_responses("application/pdf", 401, 403, 404, 409, 422),
)
def batch(
    body: schemas.LabelBatch, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> Response:
    """Labels of many lots in one PDF (roll: one label per page; a4: N-up with cut marks)."""
    return inline(
        labelling_service.batch_pdf(
            session=session, ctx=ctx, actor=actor, lot_ids=body.lot_ids, mode=body.mode
        )
    )
