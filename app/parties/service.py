"""Party master data: create, update (audited), list, and the pure views the rules read.

Every create and update writes a `party_change` row with the actor, the time and the values
after the change, so the register of licences, vehicles and crew is auditable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, SQLModel, select

from app.audit.changes import record_change, row_values
from app.context import AppContext
from app.core.db import apply_patch
from app.domain import parties as p
from app.domain.errors import InvalidInput, NotFound
from app.domain.rules.transfer import load_transfer_data
from app.domain.values import Role
from app.domain.waste_codes import code_format_problem, normalise_code
from app.identity.models import Enterprise, Site
from app.identity.permissions import Principal
from app.parties import schemas
from app.parties.models import (
    CarrierLicenceRow,
    ContractRow,
    CrewRow,
    HandlerLicenceRow,
    ManagementPlanRow,
    PartyChange,
    TransferApprovalRow,
    VehicleRow,
)

DG_CLASSES = {
    "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "2.1", "2.2", "2.3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1", "6.2",
}  # fmt: skip


@dataclass(frozen=True)
class Entity:
    name: str
    row: type[SQLModel]
    read: type[BaseModel]
    enterprise_field: str | None  # whose record it is (portal users see their own)
    enterprise_kind: str | None  # the kind that enterprise must be


ENTITIES = {
    "handler_licence": Entity(
        "handler_licence", HandlerLicenceRow, schemas.HandlerLicenceRead, "enterprise_id", "handler"
    ),
    "carrier_licence": Entity(
        "carrier_licence", CarrierLicenceRow, schemas.CarrierLicenceRead, "enterprise_id", "carrier"
    ),
    "vehicle": Entity("vehicle", VehicleRow, schemas.VehicleRead, "enterprise_id", "carrier"),
    "crew": Entity("crew", CrewRow, schemas.CrewRead, "enterprise_id", "carrier"),
    "contract": Entity("contract", ContractRow, schemas.ContractRead, None, None),
    "approval": Entity("approval", TransferApprovalRow, schemas.ApprovalRead, None, None),
    "plan": Entity("plan", ManagementPlanRow, schemas.PlanRead, None, None),
}


def _audit(
    session: Session, ctx: AppContext, actor: Principal | None, entity: str, row: Any, action: str
) -> None:
    record_change(
        session,
        entity=entity,
        entity_id=row.id,
        action=action,
        actor=actor,
        at=ctx.clock.now(),
        data=row_values(row),
    )


def _enterprise(session: Session, enterprise_id: UUID, kind: str | None, field: str) -> Enterprise:
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise InvalidInput("no such enterprise", field=field, enterprise_id=str(enterprise_id))
    if kind is not None and ent.kind != kind:
        raise InvalidInput(
            f"the enterprise is a {ent.kind}, not a {kind}", field=field, kind=ent.kind
        )
    return ent


def _codes(codes: list[str], field: str) -> list[str]:
    out = []
    for c in codes:
        code = normalise_code(c)
        problem = code_format_problem(code)
        if problem:
            raise InvalidInput(f"{c}: {problem}", field=field)
        out.append(code)
    return sorted(set(out))


def _methods(methods: list[str], field: str) -> list[str]:
    known = load_transfer_data().known_methods
    out = sorted({m.strip().upper() for m in methods})
    bad = [m for m in out if m not in known]
    if bad:
        raise InvalidInput(f"unknown method code(s) {', '.join(bad)}", field=field)
    return out


def _dg(classes: list[str], field: str) -> list[str]:
    out = sorted({c.strip() for c in classes})
    bad = [c for c in out if c not in DG_CLASSES]
    if bad or not out:
        raise InvalidInput(
            f"unknown DG class(es) {', '.join(bad) or '(none)'}: use 1-9 or divisions like 6.1",
            field=field,
        )
    return out


def _items(items: list[schemas.LicenceItemIn]) -> list[dict[str, Any]]:
    out = []
    for i in items:
        codes = _codes(i.waste_codes, "items.waste_codes")
        if any(c[-2:] != i.category[2:] for c in codes):
            raise InvalidInput(
                f"codes {codes} do not all belong to {i.category}", field="items.waste_codes"
            )
        out.append(
            {
                "category": i.category,
                "waste_codes": codes,
                "methods": _methods(i.methods, "items.methods"),
                "annual_capacity_t": str(i.annual_capacity_t),
            }
        )
    return out


def _plan_items(items: list[schemas.PlanItemIn]) -> list[dict[str, Any]]:
    return [
        {
            "waste_code": _codes([i.waste_code], "items.waste_code")[0],
            "handler_enterprise_id": str(i.handler_enterprise_id)
            if i.handler_enterprise_id
            else None,
            "method": _methods([i.method], "items.method")[0] if i.method else None,
            "planned_t": str(i.planned_t),
        }
        for i in items
    ]


def _normalise(entity: str, session: Session, values: dict[str, Any]) -> dict[str, Any]:
    v = dict(values)
    if "items" in v and v["items"] is not None:
        raw = v["items"]
        if entity == "handler_licence":
            v["items"] = _items([schemas.LicenceItemIn.model_validate(i) for i in raw])
        else:
            v["items"] = _plan_items([schemas.PlanItemIn.model_validate(i) for i in raw])
    if v.get("dg_classes") is not None:
        v["dg_classes"] = _dg(v["dg_classes"], "dg_classes")
    if entity == "approval":
        if v.get("waste_codes") is not None:
            v["waste_codes"] = _codes(v["waste_codes"], "waste_codes")
        if v.get("methods") is not None:
            v["methods"] = _methods(v["methods"], "methods")
    if "plate" in v:
        v["plate"] = v["plate"].replace(" ", "").upper()
    for k in ("vehicle_type", "role", "kind"):
        if k in v and hasattr(v[k], "value"):
            v[k] = v[k].value
    return v


def create(
    *, session: Session, ctx: AppContext, actor: Principal | None, entity: str, cmd: BaseModel
) -> BaseModel:
    e = ENTITIES[entity]
    values = cmd.model_dump()
    if e.enterprise_field:
        ent = _enterprise(
            session, values[e.enterprise_field], e.enterprise_kind, e.enterprise_field
        )
        if entity == "handler_licence":
            values["holder_uscc"] = ent.uscc
    if entity == "contract":
        _enterprise(session, values["consignor_enterprise_id"], "plant", "consignor_enterprise_id")
        _enterprise(
            session,
            values["counterparty_enterprise_id"],
            values["kind"].value if hasattr(values["kind"], "value") else values["kind"],
            "counterparty_enterprise_id",
        )
    if entity == "approval":
        _enterprise(session, values["consignor_enterprise_id"], "plant", "consignor_enterprise_id")
        _enterprise(session, values["receiver_enterprise_id"], "handler", "receiver_enterprise_id")
    if entity == "plan":
        if session.get(Site, values["site_id"]) is None:
            raise InvalidInput("no such site", field="site_id")
        dup = session.exec(
            select(ManagementPlanRow).where(
                ManagementPlanRow.site_id == values["site_id"],
                ManagementPlanRow.year == values["year"],
            )
        ).first()
        if dup is not None:
            raise InvalidInput(
                f"the site already has a {values['year']} plan: update it", field="year"
            )
    if (
        entity == "handler_licence"
        and session.exec(
            select(HandlerLicenceRow).where(HandlerLicenceRow.licence_no == values["licence_no"])
        ).first()
    ):
        raise InvalidInput("a licence with this number exists", field="licence_no")
    now = ctx.clock.now()
    values = _normalise(entity, session, values)
    row = e.row(id=uuid4(), created_at=now, updated_at=now, **values)
    session.add(row)
    session.flush()
    _audit(session, ctx, actor, entity, row, "created")
    session.flush()
    return e.read.model_validate(row)


def update(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    entity: str,
    row_id: UUID,
    cmd: BaseModel,
) -> BaseModel:
    e = ENTITIES[entity]
    row = session.get(e.row, row_id)
    if row is None:
        raise NotFound(f"{entity} not found", id=str(row_id))
    apply_patch(row, _normalise(entity, session, cmd.model_dump(exclude_unset=True)))
    row.updated_at = ctx.clock.now()  # type: ignore[attr-defined]
    vf, vt = getattr(row, "valid_from", None), getattr(row, "valid_to", None)
    if vf is not None and vt is not None and vt < vf:
        raise InvalidInput("valid_to is before valid_from", field="valid_to")
    session.flush()
    _audit(session, ctx, actor, entity, row, "updated")
    session.flush()
    return e.read.model_validate(row)


def _visible(actor: Principal, e: Entity, row: Any) -> bool:
    if actor.role in {Role.handler, Role.transporter}:
        if e.enterprise_field is None:
            return False
        return bool(getattr(row, e.enterprise_field) == actor.enterprise_id)
    return True


def list_rows(
    *, session: Session, actor: Principal, entity: str, enterprise_id: UUID | None = None
) -> list[BaseModel]:
    e = ENTITIES[entity]
    q = select(e.row)
    if enterprise_id is not None and e.enterprise_field:
        q = q.where(getattr(e.row, e.enterprise_field) == enterprise_id)
    rows = session.exec(q.order_by(e.row.created_at)).all()  # type: ignore[attr-defined]
    return [e.read.model_validate(r) for r in rows if _visible(actor, e, r)]


def get_row(*, session: Session, actor: Principal, entity: str, row_id: UUID) -> BaseModel:
    e = ENTITIES[entity]
    row = session.get(e.row, row_id)
    if row is None or not _visible(actor, e, row):
        raise NotFound(f"{entity} not found", id=str(row_id))
    return e.read.model_validate(row)


def changes(
    *, session: Session, entity_id: UUID | None, limit: int = 1000, offset: int = 0
) -> list[schemas.PartyChangeRead]:
    """The parties' changes only, oldest first, a page at a time: identity's share the table
    and are read at `/api/v1/audit/changes`."""
    q = (
        select(PartyChange)
        .where(PartyChange.entity.in_(ENTITIES))  # type: ignore[attr-defined]
        .order_by(PartyChange.id)  # type: ignore[arg-type]
    )
    if entity_id is not None:
        q = q.where(PartyChange.entity_id == entity_id)
    rows = session.exec(q.limit(limit).offset(offset))
    return [schemas.PartyChangeRead.model_validate(r) for r in rows]


# ---------------------------------------------------------------- views for the rules


def licence_view(row: HandlerLicenceRow, holder_name: str = "") -> p.HandlerLicence:
    return p.HandlerLicence(
        licence_id=row.id,
        enterprise_id=row.enterprise_id,
        licence_no=row.licence_no,
        holder_name=holder_name,
        holder_uscc=row.holder_uscc,
        kind=p.LicenceKind(row.kind),
        division_code=row.division_code,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        items=tuple(
            p.LicenceItem(
                category=i["category"],
                waste_codes=tuple(i.get("waste_codes") or ()),
                methods=tuple(i.get("methods") or ()),
                annual_capacity_t=Decimal(str(i.get("annual_capacity_t") or 0)),
            )
            for i in row.items
        ),
        facility_address=row.facility_address,
        revoked=row.revoked,
        facility_lat=row.facility_lat,
        facility_lon=row.facility_lon,
    )


def carrier_licence_for(
    session: Session, enterprise_id: UUID, day: date
) -> p.CarrierLicence | None:
    """The carrier's licence valid on `day`, else its latest (so the rule can say why)."""
    rows = session.exec(
        select(CarrierLicenceRow)
        .where(CarrierLicenceRow.enterprise_id == enterprise_id)
        .order_by(CarrierLicenceRow.valid_to.desc())  # type: ignore[attr-defined]
    ).all()
    if not rows:
        return None
    row = next((r for r in rows if r.valid_from <= day <= r.valid_to), rows[0])
    return p.CarrierLicence(
        licence_id=row.id,
        enterprise_id=row.enterprise_id,
        licence_no=row.licence_no,
        dg_classes=tuple(row.dg_classes),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def vehicle_view(row: VehicleRow | None) -> p.Vehicle | None:
    if row is None:
        return None
    return p.Vehicle(
        vehicle_id=row.id,
        enterprise_id=row.enterprise_id,
        plate=row.plate,
        transport_cert_no=row.transport_cert_no,
        vehicle_type=p.VehicleType(row.vehicle_type),
        dg_classes=tuple(row.dg_classes),
        valid_to=row.valid_to,
        gps_terminal_id=row.gps_terminal_id,
    )


def crew_view(row: CrewRow | None) -> p.CrewMember | None:
    if row is None:
        return None
    return p.CrewMember(
        crew_id=row.id,
        enterprise_id=row.enterprise_id,
        name=row.name,
        role=p.CrewRole(row.role),
        qualification_no=row.qualification_no,
        valid_to=row.valid_to,
    )


def contracts_of(session: Session, consignor_enterprise_id: UUID) -> tuple[p.Contract, ...]:
    rows = session.exec(
        select(ContractRow).where(ContractRow.consignor_enterprise_id == consignor_enterprise_id)
    )
    return tuple(
        p.Contract(
            contract_id=r.id,
            consignor_enterprise_id=r.consignor_enterprise_id,
            counterparty_enterprise_id=r.counterparty_enterprise_id,
            kind=p.ContractKind(r.kind),
            contract_no=r.contract_no,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        )
        for r in rows
    )


def approval_view(row: TransferApprovalRow | None) -> p.TransferApproval | None:
    if row is None:
        return None
    return p.TransferApproval(
        approval_id=row.id,
        approval_no=row.approval_no,
        consignor_enterprise_id=row.consignor_enterprise_id,
        receiver_enterprise_id=row.receiver_enterprise_id,
        waste_codes=tuple(row.waste_codes),
        methods=tuple(row.methods),
        quantity_t=Decimal(row.quantity_t),
        approved_on=row.approved_on,
        requested_to=row.requested_to,
    )


def plan_for(session: Session, site_id: UUID, year: int) -> p.ManagementPlan | None:
    row = session.exec(
        select(ManagementPlanRow).where(
            ManagementPlanRow.site_id == site_id, ManagementPlanRow.year == year
        )
    ).first()
    if row is None:
        return None
    return p.ManagementPlan(
        site_id=row.site_id,
        year=row.year,
        filing_no=row.filing_no,
        filed_on=row.filed_on,
        items=tuple(
            p.PlanItem(
                waste_code=i["waste_code"],
                handler_enterprise_id=UUID(i["handler_enterprise_id"])
                if i.get("handler_enterprise_id")
                else None,
                method=i.get("method"),
                planned_t=Decimal(str(i.get("planned_t") or 0)),
            )
            for i in row.items
        ),
    )


def count(session: Session, row: type[SQLModel]) -> int:
    return int(session.exec(select(sa.func.count()).select_from(row)).one())
