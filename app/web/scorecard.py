"""The scorecard (issue 7) as the console shows it: the card through its service, and the
period-inputs form (its fields, read from `PeriodInputs`, and the form's changes as the
`values` / `self_assessed` the service records). Validation stays in the service."""

from __future__ import annotations

import typing
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from sqlmodel import Session

from app.domain.errors import DomainError, InvalidInput
from app.domain.scorecard import PeriodInputs, load_definition
from app.domain.scorecard.inputs import Route
from app.identity.permissions import Principal
from app.scorecard import service as scorecard_service

ROUTES = list(Route)

# Chinese and English labels of the period inputs (PeriodInputs' field names are the contract).
INPUT_LABELS: dict[str, tuple[str, str]] = {
    "output_value_10k_cny": ("工业总产值（万元）", "Industrial output value (10⁴ CNY)"),
    "product_t": ("产品产量（吨）", "Product output (t)"),
    "waste_share_pct": ("各工艺固废占比（%）", "Solid waste share per route (%)"),
    "base_year": ("基准年", "Base year"),
    "base_output_value_10k_cny": ("基准年工业总产值（万元）", "Base-year output value (10⁴ CNY)"),
    "base_general_t": ("基准年一般固废（吨）", "Base-year general waste (t)"),
    "base_hazardous_t": ("基准年危险废物（吨）", "Base-year hazardous waste (t)"),
    "base_disposed_t": ("基准年处置量（吨）", "Base-year disposed (t)"),
    "industry_avg_hazardous_kg_t": (
        "行业平均危废产生强度（kg/t）",
        "Industry average hazardous waste (kg/t)",
    ),
    "industry_avg_solid_kg_t": (
        "行业平均固废产生强度（kg/t）",
        "Industry average solid waste (kg/t)",
    ),
    "industry_top20_solid_kg_t": (
        "行业前20%固废产生强度（kg/t）",
        "Industry top 20 % solid (kg/t)",
    ),
    "paper_manifests": ("未补录的纸质联单数", "Paper manifests not back-entered"),
    "general_utilised_t_offlog": (
        "台账外一般固废利用量（吨）",
        "General waste utilised outside the log (t)",
    ),
    "own_disposal_facility": ("自建利用处置设施", "Own disposal facility"),
    "holds_operating_licence": ("持有危废经营许可证", "Holds an operating licence"),
}
ROUTE_LABELS = {
    Route.synthesis: ("化学合成", "synthesis"),
    Route.fermentation: ("发酵", "fermentation"),
    Route.formulation: ("制剂", "formulation"),
}


def card(
    *, session: Session, ctx: Any, actor: Principal, year: int, site_id: UUID | None = None
) -> tuple[bool, dict[str, Any] | None, DomainError | None]:
    """(available, the scorecard as the API answers it, the error refusing it)."""
    try:
        computed = scorecard_service.compute(
            session=session, ctx=ctx, actor=actor, site_id=site_id, year=year
        )
    except DomainError as exc:
        return True, None, exc
    return True, scorecard_service.to_wire(computed), None


def _kind(annotation: Any) -> str:
    args = set(typing.get_args(annotation)) - {type(None)}
    if typing.get_origin(annotation) is dict:
        return "routes"
    if bool in args:
        return "bool"
    if int in args:
        return "int"
    return "decimal"


def input_fields() -> list[dict[str, Any]]:
    """The period inputs, in the model's order: name, kind and labels."""
    return [
        {
            "name": name,
            "kind": _kind(f.annotation),
            "zh": INPUT_LABELS.get(name, (name, name))[0],
            "en": INPUT_LABELS.get(name, (name, name))[1],
        }
        for name, f in PeriodInputs.model_fields.items()
    ]


def site_defaults(sites: list[Any], site_id: Any) -> dict[str, bool]:
    """What the yes/no inputs on the HJ 1259 class fall back on when left empty: the site's
    recorded profile (the exports' declarations read only that)."""
    site = next((s for s in sites if s.id == site_id), None)
    if site is None:
        return {}
    return {
        "own_disposal_facility": site.own_disposal_facility,
        "holds_operating_licence": site.licensed_operator,
    }


def self_assessed_criteria(card: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The criteria the manager assesses (`s_*`): yes/no, or a value against a minimum."""
    out = []
    for item in (card or {}).get("items", []):
        for c in item["criteria"]:
            if c["key"].startswith("s_"):
                out.append(
                    {
                        "key": c["key"],
                        "text": c["text"],
                        "item": item["name"],
                        "kind": "number" if c["formula"] == "self_min" else "bool",
                        "unit": c.get("unit"),
                        "threshold": c.get("threshold"),
                        "status": c["status"],
                    }
                )
    return out


def evidence_counts(inputs: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in inputs.evidence if inputs else []:
        counts[e.criterion] = counts.get(e.criterion, 0) + 1
    return counts


def criterion_text(key: str) -> str:
    found = load_definition().criterion(key)
    return found[1].text if found is not None else key


def form_year(raw: str | None) -> int:
    if raw and raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    raise InvalidInput("year out of range", field="year")


def _decimal(raw: str, field: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInput(f"{field}: not a number: {raw}", field=field) from exc
    if not value.is_finite():
        raise InvalidInput(f"{field}: not a number: {raw}", field=field)
    return value


def _parse(kind: str, raw: str, field: str) -> Any:
    raw = raw.strip()
    if raw == "":
        return None
    if kind == "bool":
        if raw not in ("yes", "no"):
            raise InvalidInput(f"{field}: yes or no", field=field)
        return raw == "yes"
    if kind == "int":
        if not raw.lstrip("-").isdigit():
            raise InvalidInput(f"{field}: a whole number", field=field)
        return int(raw)
    return str(_decimal(raw, field))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except InvalidOperation:
        return a == b


def changed_inputs(
    form: dict[str, str], current: Any, criteria: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's fields that differ from what is recorded, as the service takes them: a
    cleared field is None (removes it). The service validates the values."""
    values: dict[str, Any] = {}
    for f in input_fields():
        name = f["name"]
        if f["kind"] == "routes":
            if not any(f"in_{name}.{r.value}" in form for r in ROUTES):
                continue
            new: Any = {}
            for route in ROUTES:
                v = _parse("decimal", form.get(f"in_{name}.{route.value}", ""), name)
                if v is not None:
                    new[route.value] = v
            new = new or None
            old = current.values.get(name) or None
        else:
            if f"in_{name}" not in form:
                continue
            new = _parse(f["kind"], form[f"in_{name}"], name)
            old = current.values.get(name)
        if not _same(new, old):
            values[name] = new
    assessed: dict[str, Any] = {}
    for c in criteria:
        key = c["key"]
        if f"sa_{key}" not in form:
            continue
        kind = "decimal" if c["kind"] == "number" else "bool"
        new = _parse(kind, form[f"sa_{key}"], key)
        if kind == "decimal" and new is not None:
            new = Decimal(new)
        old = current.self_assessed.get(key)
        if not _same(new, old):
            assessed[key] = new
    return values, assessed
