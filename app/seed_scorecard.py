"""Demo scorecard data (`make run`): the EHS manager's period inputs for the demo year and
its base year, and evidence files for a few self-assessed items, recorded through the
scorecard service (events on each site's `scorecard` stream). The base year's tonnages are
set a little above what the demo year's log holds, as a plant that improved would show."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

from sqlmodel import Session

from app.context import AppContext
from app.identity.permissions import Principal
from app.scorecard import service as scorecard_service

T = Decimal(1000)

# criterion -> (value, evidence file name, text in the file)
SELF_ASSESSED: dict[str, tuple[Any, str | None, str]] = {
    "s_compliance": (
        True,
        "营业执照及排污许可证.txt",
        "营业执照 91320594MA1N2B3C4X；排污许可证 91320594MA1N2B3C4X001V",
    ),
    "s_site_tidy": (True, "厂区巡查记录.txt", "2026 年 10 月厂区巡查：厂容整洁，无积水积油"),
    "s_no_standing_waste": (True, None, ""),
    "s_discharge_permit": (True, "排污许可证.txt", "排污许可证有效期至 2028-06-30"),
    "s_treatment_facilities": (True, "监测报告.txt", "2026 年度废水、废气第三方监测报告：达标"),
    "s_no_complaints": (True, "投诉记录.txt", "本年度无有效投诉"),
    "s_cleaner_production_audit": (
        True,
        "清洁生产审核验收意见.txt",
        "2025 年通过清洁生产审核验收（二级）",
    ),
    "s_renewables_pct": (Decimal("16.5"), "能源消耗报告.txt", "光伏发电占比 16.5%"),
    "s_ems_certified": (True, "ISO14001证书.txt", "ISO 14001:2015 证书，有效期至 2027-12"),
    "s_gmp_certified": (True, "GMP证书.txt", "药品 GMP 符合性检查结论：符合"),
    "s_trainings": (Decimal(5), "培训签到表.txt", "2026 年危险废物管理培训 5 次"),
    "s_exam_pass_pct": (Decimal(94), None, ""),
}


def seed(session: Session, ctx: AppContext, manager: Principal, site_ids: dict[str, Any]) -> int:
    """Inputs for every demo site for the demo year; evidence on SZ01. Returns entries."""
    year = ctx.clock.now().year
    n = 0
    for code, site_id in site_ids.items():
        facts = scorecard_service.facts_for(session=session, site_id=site_id, year=year)
        hw = sum((w.generated_kg for w in facts.waste if w.kind == "hazardous"), Decimal(0))
        gw = sum((w.generated_kg for w in facts.waste if w.kind == "general"), Decimal(0))
        disposed = sum(
            (w.completed_kg for w in facts.waste if w.method_code.startswith("D")), Decimal(0)
        )
        big = code == "SZ01"
        output = Decimal(52000 if big else 18000)
        values = {
            "output_value_10k_cny": str(output),
            "base_year": year - 1,
            "base_output_value_10k_cny": str(output * Decimal("0.95")),
            "base_hazardous_t": str((hw / T * Decimal("0.97")).quantize(Decimal("0.001"))),
            "base_general_t": str((gw / T * Decimal("1.02")).quantize(Decimal("0.001"))),
            "base_disposed_t": str((disposed / T * Decimal("1.10") + 1).quantize(Decimal("0.001"))),
            "product_t": {"synthesis": "420"} if big else {"formulation": "260"},
            "industry_avg_hazardous_kg_t": "45",
            "industry_avg_solid_kg_t": "120",
            "industry_top20_solid_kg_t": "60",
            "paper_manifests": 1,
            "general_utilised_t_offlog": str((gw / T * Decimal("0.93")).quantize(Decimal("0.001"))),
        }
        assessed = {k: v for k, (v, _, _) in SELF_ASSESSED.items()} if big else {}
        scorecard_service.record_inputs(
            session=session,
            ctx=ctx,
            actor=manager,
            site_id=site_id,
            year=year,
            event_id=uuid4(),
            values=values,
            self_assessed={k: v for k, v in assessed.items()},
            note="演示数据 / demo figures",
        )
        n += 1
        if not big:
            continue
        for criterion, (_, filename, text) in SELF_ASSESSED.items():
            if filename is None:
                continue
            scorecard_service.attach_evidence(
                session=session,
                ctx=ctx,
                actor=manager,
                site_id=site_id,
                year=year,
                criterion=criterion,
                event_id=uuid4(),
                filename=filename,
                content_type="text/plain",
                data=f"{text}\n（演示佐证材料 / demo evidence）\n".encode(),
            )
            n += 1
    return n
