"""Rule catalogue and dry-run checks (`/api/v1/rules`, `/api/v1/checks`)."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, ReadSessionDep
from app.identity.deps import CurrentUser, require
from app.identity.permissions import Permission
from app.rules import schemas
from app.rules import service as rule_service

router = APIRouter(prefix="/api/v1", tags=["rules"], route_class=CheckedRoute)

Reader = require(Permission.lot_read)


@router.get("/rules", response_model=schemas.RuleCatalogue, responses=error_responses(401))
def rules(_: CurrentUser, ctx: CtxDep) -> schemas.RuleCatalogue:
    """Every rule with its citation, severity and steps, and the thresholds in force."""
    return schemas.RuleCatalogue.model_validate(rule_service.catalogue(ctx=ctx))


@router.post(
    "/checks", response_model=schemas.CheckResult, responses=error_responses(401, 403, 404, 422)
)
def check(
    req: schemas.CheckRequest, actor: Reader, session: ReadSessionDep, ctx: CtxDep
) -> schemas.CheckResult:
    """What would happen if…: the findings a step would get now. Writes nothing."""
    return schemas.CheckResult.model_validate(
        rule_service.what_if(
            session=session,
            ctx=ctx,
            actor=actor,
            action=req.action,
            lot_id=req.lot_id,
            zone_id=req.zone_id,
            scanned_code=req.scanned_code,
            proposal=req.lot,
            at=req.occurred_at,
        )
    )
