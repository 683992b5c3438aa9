"""Rules of the transfer (转移联单), loading, receipt and disposal steps (R37-R60).

They read a `TransferSituation` the manifest service assembles from the projections and the
party tables: the manifest, the consignor site, the handler's licence, the carrier's licence,
vehicle and crew, contracts, the cross-province approval, the management plan and what was
already shipped this year. Thresholds come from `data/transfer.toml`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from app.domain.lot import LotState, LotStatus
from app.domain.manifest import ManifestState, ManifestStatus
from app.domain.parties import (
    CarrierLicence,
    Contract,
    ContractKind,
    CrewMember,
    CrewRole,
    HandlerLicence,
    LicenceKind,
    ManagementPlan,
    TransferApproval,
    Vehicle,
    VehicleType,
    dg_covers,
)
from app.domain.rules.base import Confidence, Finding, Rule, Severity, Step
from app.domain.rules.common import LAW, T, rule
from app.domain.values import china_date

TRANSFER_MEASURES = "危险废物转移管理办法 (2021)"
LICENCE_MEASURES = "危险废物经营许可证管理办法"
HJ1259 = "HJ 1259-2022"
DG_RULES = "危险货物道路运输安全管理办法"

DATA_FILE = Path(__file__).resolve().parent / "data" / "transfer.toml"


@dataclass(frozen=True)
class TransferData:
    weight_tolerance_pct: Decimal
    weight_tolerance_kg: Decimal
    confirm_working_days: int
    open_manifest_days: int
    geofence_m: int
    transit_overdue_hours: int
    paper_backentry_working_days: int
    declaration_warn_days: int
    capacity_warn_ratio: Decimal
    capacity_limit_ratio: Decimal
    plan_deadline: tuple[int, int]
    collection_only_codes: frozenset[str]
    known_methods: frozenset[str]
    holidays: frozenset[date]
    workdays: frozenset[date]

    def within_tolerance(self, shipped_kg: Decimal, received_kg: Decimal) -> bool:
        allowed = max(shipped_kg * self.weight_tolerance_pct / 100, self.weight_tolerance_kg)
        return abs(received_kg - shipped_kg) <= allowed

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n += 1
        return n

    def add_working_days(self, start: date, days: int) -> date:
        day, n = start, 0
        while n < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n += 1
        return day


@cache
def load_transfer_data(path: Path = DATA_FILE) -> TransferData:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    month, day = (int(x) for x in raw["plan"]["filing_deadline"].split("-"))
    return TransferData(
        weight_tolerance_pct=Decimal(str(raw["receipt"]["weight_tolerance_pct"])),
        weight_tolerance_kg=Decimal(str(raw["receipt"]["weight_tolerance_kg"])),
        confirm_working_days=int(raw["receipt"]["confirm_working_days"]),
        open_manifest_days=int(raw["receipt"]["open_manifest_days"]),
        geofence_m=int(raw["track"]["geofence_m"]),
        transit_overdue_hours=int(raw["track"]["overdue_hours"]),
        paper_backentry_working_days=int(raw["paper"]["backentry_working_days"]),
        declaration_warn_days=int(raw["declaration"]["warn_days"]),
        capacity_warn_ratio=Decimal(str(raw["capacity"]["warn_ratio"])),
        capacity_limit_ratio=Decimal(str(raw["capacity"]["limit_ratio"])),
        plan_deadline=(month, day),
        collection_only_codes=frozenset(raw["collection_only"]["codes"]),
        known_methods=frozenset(raw["methods"]["known"]),
        holidays=frozenset(date.fromisoformat(d) for d in raw["calendar"]["holidays"]),
        workdays=frozenset(date.fromisoformat(d) for d in raw["calendar"]["workdays"]),
    )


@dataclass(frozen=True)
class Loading:
    """What was checked at the vehicle."""

    scanned: tuple[str, ...]  # normalised digital IDs scanned at loading
    vehicle: Vehicle | None
    driver: CrewMember | None
    escort: CrewMember | None
    passengers: int = 0
    # lots scanned that exist, keyed by digital ID (to name an extra lot precisely)
    scanned_lots: dict[str, LotState] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferSituation:
    """What the transfer rules read. `step` is one of transfer, loading, receipt, disposal."""

    step: Step
    now: datetime
    day: date  # the transfer date (China time) the licence and approvals are checked on
    manifest: ManifestState
    tdata: TransferData
    consignor_division: str  # the consignor site's GB/T 2260 code
    consignor_enterprise_id: UUID
    lots: tuple[LotState, ...] = ()  # current lot states of the manifest's lots
    licence: HandlerLicence | None = None
    carrier_licence: CarrierLicence | None = None
    contracts: tuple[Contract, ...] = ()
    approval: TransferApproval | None = None
    approval_shipped_t: Decimal = Decimal(0)  # already shipped under the approval
    plan: ManagementPlan | None = None
    ytd_shipped_t: dict[str, Decimal] = field(default_factory=dict)  # licence item key -> t
    loading: Loading | None = None
    lot_facility_codes: dict[UUID, tuple[str | None, str | None]] = field(default_factory=dict)
    disposal: tuple[tuple[UUID, str], ...] = ()  # (lot_id, method code) being recorded
    decisions: tuple[tuple[UUID, str | None, str | None], ...] = ()  # lot, outcome, method
    confirming: bool = False  # receipt: the handler is deciding (confirm / resolve)
    arriving: bool = False  # receipt: the load is being handed over at the receiver's gate
    entered_at: datetime | None = None  # when the step is recorded (now may be backdated)
    resolution: dict[str, Any] = field(default_factory=dict)  # notified_at, eeb_report_ref
    closing: bool = False  # disposal: the consignor closes the manifest


def _t(kg: Decimal) -> Decimal:
    return (kg / 1000).quantize(Decimal("0.001"))


def line_weight_t(s: TransferSituation, line_no: int) -> Decimal:
    return _t(sum((lot.weight_kg for lot in s.manifest.lots if lot.line_no == line_no), Decimal(0)))


def item_key(licence_id: UUID, category: str, codes: tuple[str, ...]) -> str:
    return f"{licence_id}/{category}/{','.join(codes)}"


# ---------------------------------------------------------------- transfer (submit)

SUBMIT = [Step.transfer]
LOAD = [Step.loading]
NUMBER_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{6})$")


@rule(
    "R38",
    "转移须有已提交的电子联单",
    "a lot leaves only on a filed e-manifest",
    TRANSFER_MEASURES,
    "Arts. 6, 7, 11(1)",
    T,
    SUBMIT + LOAD,
    Severity.block,
)
def r38(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    m = s.manifest
    for lot in s.lots:
        if lot.manifest_id != m.manifest_id or lot.status is not LotStatus.allocated:
            yield r.finding(
                s,
                f"批次 {lot.digital_id or lot.lot_id} 未登记在本联单上（状态 {lot.status.value}）",
                f"lot {lot.digital_id or lot.lot_id} is not allocated to this manifest "
                f"(it is {lot.status.value})",
                lot_id=str(lot.lot_id),
            )
    if not m.lots:
        yield r.finding(s, "联单没有任何批次", "the manifest carries no lot")


@rule(
    "R39",
    "联单编号为14位且省市代码与移出人一致",
    "manifest number: 14 digits, origin province and city",
    TRANSFER_MEASURES,
    "Art. 15",
    T,
    SUBMIT,
    Severity.block,
)
def r39(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    number = s.manifest.number
    match = NUMBER_RE.match(number)
    if match is None:
        yield r.finding(
            s,
            f"联单编号 {number} 不是14位数字",
            f"manifest number {number} is not 14 digits",
            number=number,
        )
        return
    year, province, city, _ = match.groups()
    if not 2000 <= int(year) <= s.now.year + 1:
        yield r.finding(
            s, f"联单编号年份 {year} 不合理", f"implausible year {year} in the number", year=year
        )
    if province + city != s.consignor_division[:4]:
        yield r.finding(
            s,
            f"联单编号的省市代码 {province}{city} 与移出人所在地 {s.consignor_division[:4]} 不符",
            f"province/city digits {province}{city} differ from the consignor's "
            f"{s.consignor_division[:4]}",
            number=number,
            division=s.consignor_division,
        )


@rule(
    "R40",
    "一车一单、一个移出人",
    "one manifest per vehicle trip and consignor",
    TRANSFER_MEASURES,
    "Art. 16",
    T,
    SUBMIT + LOAD,
    Severity.block,
)
def r40(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    for lot in s.lots:
        if lot.site_id != s.manifest.site_id:
            yield r.finding(
                s,
                f"批次 {lot.digital_id or lot.lot_id} 属于另一移出人（厂区），须单独填写联单",
                f"lot {lot.digital_id or lot.lot_id} belongs to another consignor site: "
                "it needs its own manifest",
                lot_id=str(lot.lot_id),
            )


@rule(
    "R41",
    "接受人持有有效且覆盖该废物和方式的经营许可证",
    "receiver licensed for the code and method on the date",
    LAW,
    "Art. 80; 许可证办法 Arts. 3, 10, 15",
    T,
    SUBMIT,
    Severity.block,
)
def r41(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    lic = s.licence
    if lic is None:
        yield r.finding(
            s, "接受人没有登记的危险废物经营许可证", "the receiver has no licence on file"
        )
        return
    if lic.enterprise_id != s.manifest.handler_enterprise_id:
        yield r.finding(
            s,
            f"许可证 {lic.licence_no} 不属于联单上的接受人",
            f"licence {lic.licence_no} is not the receiver's",
            licence_no=lic.licence_no,
        )
    if not lic.valid_on(s.day):
        yield r.finding(
            s,
            f"许可证 {lic.licence_no} 在 {s.day} 无效（有效期 {lic.valid_from} 至 {lic.valid_to}"
            f"{'，已吊销' if lic.revoked else ''}）",
            f"licence {lic.licence_no} is not valid on {s.day} "
            f"({lic.valid_from} to {lic.valid_to}{', revoked' if lic.revoked else ''})",
            licence_no=lic.licence_no,
            valid_to=str(lic.valid_to),
        )
    for line in s.manifest.lines:
        if (
            lic.kind is LicenceKind.collection
            and line.waste_code not in s.tdata.collection_only_codes
        ):
            yield r.finding(
                s,
                f"收集经营许可证只能收集机动车维修废矿物油和居民废镉镍电池，不含 {line.waste_code}",
                f"a collection-only licence covers only vehicle-repair waste oil and household "
                f"Cd-Ni batteries, not {line.waste_code}",
                line_no=line.line_no,
                waste_code=line.waste_code,
            )
            continue
        item = lic.item_for(line.waste_code, line.category)
        if item is None:
            yield r.finding(
                s,
                f"许可证 {lic.licence_no} 未核准 {line.waste_code}（{line.category}）",
                f"licence {lic.licence_no} does not cover {line.waste_code} ({line.category})",
                line_no=line.line_no,
                waste_code=line.waste_code,
            )
        elif line.planned_method not in item.methods:
            yield r.finding(
                s,
                f"许可证未核准以 {line.planned_method} 方式利用/处置 {line.waste_code}"
                f"（核准：{'、'.join(item.methods) or '无'}）",
                f"the licence does not approve method {line.planned_method} for "
                f"{line.waste_code} (approved: {', '.join(item.methods) or 'none'})",
                line_no=line.line_no,
                method=line.planned_method,
                approved=list(item.methods),
            )


@rule(
    "R42",
    "接受人年度经营规模",
    "receiver's annual capacity",
    LICENCE_MEASURES,
    "Art. 12(4)",
    T,
    SUBMIT,
    Severity.warn,
)
def r42(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    lic = s.licence
    if lic is None:
        return
    planned: dict[str, Decimal] = {}
    items = {}
    for line in s.manifest.lines:
        item = lic.item_for(line.waste_code, line.category)
        if item is None or item.annual_capacity_t <= 0:
            continue
        key = item_key(lic.licence_id, item.category, item.waste_codes)
        items[key] = item
        planned[key] = planned.get(key, Decimal(0)) + line_weight_t(s, line.line_no)
    for key, this in planned.items():
        item = items[key]
        total = s.ytd_shipped_t.get(key, Decimal(0)) + this
        ratio = total / item.annual_capacity_t
        if ratio > s.tdata.capacity_warn_ratio:
            over = ratio > s.tdata.capacity_limit_ratio
            yield r.finding(
                s,
                f"{item.category} 本年已转移 {total} t，"
                f"{'超过核准规模的120%' if over else '超过核准年经营规模'}"
                f" {item.annual_capacity_t} t",
                f"{item.category}: {total} t this year with this manifest, "
                f"{'over 120 % of' if over else 'over'} the approved {item.annual_capacity_t} t",
                category=item.category,
                total_t=total,
                capacity_t=item.annual_capacity_t,
            )


@rule(
    "R43",
    "与承运人、接受人签订有效书面合同",
    "written contracts with carrier and receiver in date",
    TRANSFER_MEASURES,
    "Art. 10(1)",
    T,
    SUBMIT,
    Severity.block,
)
def r43(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    m = s.manifest
    for kind, party, zh in [
        (ContractKind.handler, m.handler_enterprise_id, "接受人"),
        (ContractKind.carrier, m.carrier_enterprise_id, "承运人"),
    ]:
        ok = any(
            c.kind is kind
            and c.counterparty_enterprise_id == party
            and c.consignor_enterprise_id == s.consignor_enterprise_id
            and c.valid_on(s.day)
            for c in s.contracts
        )
        if not ok:
            yield r.finding(
                s,
                f"没有与{zh}签订的、在 {s.day} 有效的书面合同",
                f"no written contract with the {kind.value} valid on {s.day}",
                party=kind.value,
            )


@rule(
    "R46",
    "跨省转移须经批准且在批准范围内",
    "cross-province transfer within an approval",
    TRANSFER_MEASURES,
    "Arts. 21, 27, 28",
    T,
    SUBMIT,
    Severity.block,
)
def r46(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    lic = s.licence
    if lic is None or lic.province_code == s.consignor_division[:2]:
        return
    a = s.approval
    if a is None:
        yield r.finding(
            s,
            f"跨省转移（{s.consignor_division[:2]} → {lic.province_code}）"
            "须取得移出地省级生态环境部门批准",
            f"cross-province transfer ({s.consignor_division[:2]} -> {lic.province_code}) "
            "needs the origin province's approval",
        )
        return
    if a.receiver_enterprise_id != s.manifest.handler_enterprise_id:
        yield r.finding(
            s,
            f"批准 {a.approval_no} 的接受人不是本联单的接受人",
            f"approval {a.approval_no} names another receiver",
        )
    for line in s.manifest.lines:
        if line.waste_code not in a.waste_codes or line.planned_method not in a.methods:
            yield r.finding(
                s,
                f"批准 {a.approval_no} 不含 {line.waste_code} / {line.planned_method}",
                f"approval {a.approval_no} does not cover {line.waste_code} with "
                f"{line.planned_method}",
                line_no=line.line_no,
            )
    last = a.last_day(lic.valid_to)
    if not a.approved_on <= s.day <= last:
        yield r.finding(
            s,
            f"批准 {a.approval_no} 在 {s.day} 不在有效期内（至 {last}）",
            f"approval {a.approval_no} is not valid on {s.day} (valid until {last})",
            last_day=str(last),
        )
    total = s.approval_shipped_t
    this = _t(s.manifest.total_kg)
    if total + this > a.quantity_t:
        yield r.finding(
            s,
            f"批准 {a.approval_no} 核准 {a.quantity_t} t，已转移 {total} t，本单 {this} t 超出",
            f"approval {a.approval_no}: {total} t shipped + {this} t exceeds the approved "
            f"{a.quantity_t} t",
            approved_t=a.quantity_t,
            shipped_t=total,
            this_t=this,
        )


@rule(
    "R47",
    "本年度管理计划已备案并列明该废物和去向",
    "current-year management plan filed and listing the transfer",
    TRANSFER_MEASURES,
    "Art. 14; HJ 1259 5.2.2",
    T,
    SUBMIT,
    Severity.warn,
)
def r47(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    year = s.day.year
    p = s.plan
    if p is None or p.filed_on is None:
        yield r.finding(
            s,
            f"{year} 年度危险废物管理计划未备案",
            f"no management plan filed for {year}",
            year=year,
        )
        return
    month, day = s.tdata.plan_deadline
    if p.filed_on > date(year, month, day):
        yield r.finding(
            s,
            f"{year} 年度管理计划于 {p.filed_on} 备案，晚于 {month} 月 {day} 日",
            f"the {year} plan was filed on {p.filed_on}, after {month:02d}-{day:02d}",
            filed_on=str(p.filed_on),
        )
    for line in s.manifest.lines:
        if not p.lists(line.waste_code, s.manifest.handler_enterprise_id):
            yield r.finding(
                s,
                f"管理计划未列明 {line.waste_code} 转移至该接受人",
                f"the plan does not list {line.waste_code} going to this receiver",
                waste_code=line.waste_code,
            )


# ---------------------------------------------------------------- loading


@rule(
    "R37",
    "装车时逐件核对标签与联单一致",
    "at loading every package matches a manifest line",
    TRANSFER_MEASURES,
    "Art. 13 ¶3",
    T,
    LOAD,
    Severity.block,
)
def r37(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    ld = s.loading
    if ld is None:
        return
    m = s.manifest
    on_manifest = {lot.digital_id: lot for lot in m.lots if lot.digital_id}
    scanned = set(ld.scanned)
    for lot in m.lots:
        if lot.digital_id not in scanned:
            yield r.finding(
                s,
                f"联单上的批次 {lot.digital_id} 未在装车时扫描（缺件）",
                f"lot {lot.digital_id} on the manifest was not scanned at the vehicle (missing)",
                digital_id=lot.digital_id,
                problem="missing",
            )
    for code in sorted(scanned - set(on_manifest)):
        yield r.finding(
            s,
            f"扫描的 {code} 不在本联单上（多件），不得装车",
            f"scanned {code} is not on this manifest (extra package): do not load it",
            digital_id=code,
            problem="extra",
        )
    states = {lot.lot_id: lot for lot in s.lots}
    for mlot in m.lots:
        state = states.get(mlot.lot_id)
        if state is None:
            continue
        line = m.line(mlot.line_no)
        diffs = []
        if state.waste_code != line.waste_code:
            diffs.append(f"code {state.waste_code} ≠ {line.waste_code}")
        if state.name != mlot.name:
            diffs.append(f"name {state.name} ≠ {mlot.name}")
        if state.weight_kg != mlot.weight_kg:
            diffs.append(f"weight {state.weight_kg} ≠ {mlot.weight_kg} kg")
        if state.digital_id != mlot.digital_id:
            diffs.append("digital ID")
        if diffs:
            yield r.finding(
                s,
                f"批次 {mlot.digital_id} 的标签与联单不符：{'；'.join(diffs)}",
                f"lot {mlot.digital_id}: label differs from the manifest: {'; '.join(diffs)}",
                digital_id=mlot.digital_id,
                problem="mismatch",
            )


def _valid(day: date, valid_to: date) -> bool:
    return day <= valid_to


@rule(
    "R44",
    "承运人、车辆、驾驶员和押运员资质有效且覆盖危险货物类别",
    "carrier, vehicle, driver and escort qualified for the DG class",
    TRANSFER_MEASURES,
    "Art. 13; 道路危险货物运输管理规定",
    T,
    LOAD,
    Severity.block,
)
def r44(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    ld = s.loading
    m = s.manifest
    cl = s.carrier_licence
    if cl is None or cl.enterprise_id != m.carrier_enterprise_id:
        yield r.finding(
            s,
            "承运人没有登记的道路运输经营许可证",
            "the carrier has no road transport licence on file",
        )
    elif not cl.valid_on(s.day):
        yield r.finding(
            s,
            f"承运人道路运输经营许可证 {cl.licence_no} 在 {s.day} 无效（至 {cl.valid_to}）",
            f"carrier licence {cl.licence_no} is not valid on {s.day} (until {cl.valid_to})",
            licence_no=cl.licence_no,
        )
    if ld is None:
        return
    v = ld.vehicle
    if v is None or v.enterprise_id != m.carrier_enterprise_id:
        yield r.finding(s, "车辆不属于承运人", "the vehicle is not the carrier's")
    elif not _valid(s.day, v.valid_to):
        yield r.finding(
            s,
            f"车辆 {v.plate} 道路运输证 {v.transport_cert_no} 已过期（{v.valid_to}）",
            f"vehicle {v.plate}: transport certificate {v.transport_cert_no} expired "
            f"({v.valid_to})",
            plate=v.plate,
        )
    for role, person in [(CrewRole.driver, ld.driver), (CrewRole.escort, ld.escort)]:
        zh = "驾驶员" if role is CrewRole.driver else "押运员"
        if (
            person is None
            or person.role is not role
            or person.enterprise_id != m.carrier_enterprise_id
        ):
            yield r.finding(
                s,
                f"缺少承运人的{zh}",
                f"no {role.value} of the carrier named",
                role=role.value,
            )
        elif not _valid(s.day, person.valid_to):
            yield r.finding(
                s,
                f"{zh} {person.name} 的从业资格证 {person.qualification_no} "
                f"已过期（{person.valid_to}）",
                f"{role.value} {person.name}: qualification {person.qualification_no} expired "
                f"({person.valid_to})",
                role=role.value,
            )
    if ld.driver is not None and ld.escort is not None and ld.driver.crew_id == ld.escort.crew_id:
        yield r.finding(s, "押运员不能由驾驶员兼任", "the escort cannot be the driver")
    for line in m.lines:
        if not line.dg_class or not line.un_number:
            yield r.finding(
                s,
                f"第 {line.line_no} 行未填写危险货物类别和联合国编号",
                f"line {line.line_no}: DG class and UN number not recorded",
                line_no=line.line_no,
            )
            continue
        if cl is not None and not dg_covers(cl.dg_classes, line.dg_class):
            yield r.finding(
                s,
                f"承运人经营范围不含第 {line.dg_class} 类危险货物",
                f"the carrier's licence does not cover DG class {line.dg_class}",
                dg_class=line.dg_class,
            )
        if v is not None and not dg_covers(v.dg_classes, line.dg_class):
            yield r.finding(
                s,
                f"车辆 {v.plate} 不准运输第 {line.dg_class} 类危险货物",
                f"vehicle {v.plate} is not permitted for DG class {line.dg_class}",
                dg_class=line.dg_class,
            )


@rule(
    "R45",
    "不得使用客运车辆，不得搭载乘客",
    "no passenger vehicle, no passengers",
    LAW,
    "Art. 83",
    T,
    LOAD,
    Severity.block,
)
def r45(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    ld = s.loading
    if ld is None:
        return
    if ld.vehicle is not None and ld.vehicle.vehicle_type is VehicleType.passenger:
        yield r.finding(
            s,
            f"{ld.vehicle.plate} 是客运车辆，不得运输危险废物",
            f"{ld.vehicle.plate} is a passenger vehicle",
        )
    if ld.passengers > 0:
        yield r.finding(
            s,
            f"车上有 {ld.passengers} 名乘客，危险废物运输不得搭载乘客",
            f"{ld.passengers} passengers declared: none are allowed",
            passengers=ld.passengers,
        )


@rule(
    "R48",
    "出库记录完整",
    "storage-out record complete",
    HJ1259,
    "6.3.3",
    T,
    LOAD,
    Severity.block,
)
def r48(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    for lot in s.lots:
        if s.manifest.forwarded_from is not None and lot.stored_at is None:
            continue  # forwarded from another handler's gate: it never left a store of ours
        missing = []
        if lot.stored_at is None:
            missing.append("入库记录 storage-in record")
        code, ftype = s.lot_facility_codes.get(lot.lot_id, (None, None))
        if not code or not ftype:
            missing.append("贮存设施编码/类型 facility code/type")
        if not lot.name or not lot.waste_code or not lot.category:
            missing.append("名称/类别/代码 name/category/code")
        if lot.weight_kg <= 0:
            missing.append("出库量 quantity")
        if missing:
            yield r.finding(
                s,
                f"批次 {lot.digital_id or lot.lot_id} 出库记录缺少：{'、'.join(missing)}",
                f"lot {lot.digital_id or lot.lot_id}: storage-out record lacks "
                f"{', '.join(missing)}",
                lot_id=str(lot.lot_id),
                missing=missing,
            )


# ---------------------------------------------------------------- receipt


@rule(
    "R49",
    "运输轨迹已上传且终点为接受人地址",
    "the trip's GPS track is attached and ends at the receiver",
    TRANSFER_MEASURES,
    "Art. 11(3)(4)",
    T,
    [Step.receipt],
    Severity.warn,
)
def r49(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    """Checked when the load arrives (not again when the handler decides on it later)."""
    if not s.arriving:
        return
    track = s.manifest.track
    if track is None:
        yield r.finding(
            s,
            "承运人未上传本次运输的GPS轨迹",
            "no GPS track of the trip is attached (the carrier uploads it)",
            problem="no_track",
        )
        return
    end = track.last
    metres = s.licence.facility_distance_m(end.lat, end.lon) if s.licence else None
    if metres is None:
        yield r.finding(
            s,
            "接受人许可证未登记设施坐标，无法核对轨迹终点",
            "the receiver's licence has no facility coordinates: the track's end is not checked",
            problem="no_facility_location",
        )
        return
    if metres > s.tdata.geofence_m:
        yield r.finding(
            s,
            f"轨迹终点距接受人设施 {metres / 1000:.1f} km（允许 {s.tdata.geofence_m} m）",
            f"the track ends {metres / 1000:.1f} km from the receiver's facility "
            f"(allowed {s.tdata.geofence_m} m)",
            problem="off_destination",
            distance_m=round(metres),
            geofence_m=s.tdata.geofence_m,
            last_fix_at=end.at.isoformat(),
        )


@rule(
    "R50",
    "接受人5个工作日内确认接收",
    "receipt confirmed within 5 working days",
    TRANSFER_MEASURES,
    "Art. 18 ¶1",
    T,
    [Step.receipt],
    Severity.warn,
)
def r50(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    """Judged on the day the confirmation is recorded: a confirmation dated back does not
    make up for a late one. A back-entered paper manifest (R53 judges its lateness) is judged
    on the dates its steps carry from paper."""
    m = s.manifest
    if m.received_at is None or m.confirmed_at is not None:
        return
    confirmed = s.now if m.paper is not None else (s.entered_at or s.now)
    days = s.tdata.working_days_between(china_day(m.received_at), china_day(confirmed))
    if days > s.tdata.confirm_working_days:
        yield r.finding(
            s,
            f"接收后已过 {days} 个工作日仍未确认（限 {s.tdata.confirm_working_days} 个工作日）",
            f"receipt confirmed {days} working days after arrival (limit "
            f"{s.tdata.confirm_working_days})",
            working_days=days,
        )


@rule(
    "R51",
    "数量、名称、特性、形态或包装不符须处理差异",
    "a discrepancy is decided, notified and reported",
    TRANSFER_MEASURES,
    "Art. 18 ¶2",
    T,
    [Step.receipt, Step.disposal],
    Severity.block,
)
def r51(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    m = s.manifest
    if s.step is Step.disposal:
        if m.discrepancy_open:
            yield r.finding(
                s,
                "联单存在未处理的差异，须先决定接收或拒收",
                "the manifest has an open discrepancy: decide on it first",
            )
        return
    if not s.confirming or not m.discrepancy_open:
        return
    assert m.discrepancy is not None
    d = s.resolution
    if not d.get("consignor_notified_at"):
        yield r.finding(
            s,
            "差异须及时告知移出人（填写告知时间）",
            "tell the consignor about the discrepancy (consignor_notified_at)",
            field="consignor_notified_at",
        )
    if not d.get("eeb_report_ref"):
        yield r.finding(
            s,
            "差异须报告接受地生态环境主管部门（填写报告编号）",
            "report the discrepancy to the receiving-area EEB (eeb_report_ref)",
            field="eeb_report_ref",
        )


@rule(
    "R52",
    "接受人填写是否接受、利用处置方式和接受量",
    "receiver fills accept/reject, method and accepted quantity",
    TRANSFER_MEASURES,
    "Art. 12(2)",
    T,
    [Step.receipt],
    Severity.block,
)
def r52(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    if not s.confirming:
        return
    for lot_id, outcome, method in s.decisions:
        if outcome is None:
            yield r.finding(s, "未填写是否接受", "accept/reject not filled", lot_id=str(lot_id))
        elif outcome != "rejected" and not method:
            yield r.finding(
                s,
                "接收的批次须填写利用/处置方式代码",
                "an accepted lot needs its utilisation/disposal method code",
                lot_id=str(lot_id),
            )
        elif method and method not in s.tdata.known_methods:
            yield r.finding(
                s,
                f"未知的利用/处置方式代码 {method}",
                f"unknown method code {method}",
                lot_id=str(lot_id),
                method=method,
            )


def paper_backentry_due(tdata: TransferData, completed_on: date) -> date:
    return tdata.add_working_days(completed_on, tdata.paper_backentry_working_days)


@rule(
    "R53",
    "纸质联单10个工作日内补录电子联单",
    "a paper manifest is entered electronically within 10 working days",
    TRANSFER_MEASURES,
    "Art. 20 ¶2",
    T,
    SUBMIT,
    Severity.warn,
)
def r53(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    """Checked when the back-entered manifest is filed, against the day it is recorded (its
    steps carry the dates they happened on paper)."""
    paper = s.manifest.paper
    if paper is None:
        return
    entered = china_day(s.entered_at or s.now)
    due = paper_backentry_due(s.tdata, paper.completed_on)
    if entered > due:
        days = s.tdata.working_days_between(paper.completed_on, entered)
        yield r.finding(
            s,
            f"纸质联单 {paper.paper_number} 于 {paper.completed_on} 完成转移，{entered} 才补录"
            f"（{days} 个工作日，应于 {due} 前）",
            f"paper manifest {paper.paper_number}, completed {paper.completed_on}, entered on "
            f"{entered}: {days} working days (due by {due})",
            paper_number=paper.paper_number,
            completed_on=paper.completed_on.isoformat(),
            due_on=due.isoformat(),
            working_days=days,
        )


# ---------------------------------------------------------------- disposal


@rule(
    "R54",
    "利用/处置方式在许可证核准范围内",
    "method code known and within the licence",
    HJ1259,
    "5.5.5 e); HJ 1033 App. F",
    Confidence.THIRD_PARTY,
    [Step.disposal],
    Severity.block,
)
def r54(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    lic = s.licence
    m = s.manifest
    for lot_id, method in s.disposal:
        if method not in s.tdata.known_methods:
            yield r.finding(
                s,
                f"未知的利用/处置方式代码 {method}",
                f"unknown utilisation/disposal method code {method}",
                lot_id=str(lot_id),
                method=method,
            )
            continue
        mlot = m.lot(lot_id)
        line = m.line(mlot.line_no)
        item = lic.item_for(line.waste_code, line.category) if lic else None
        if item is None or method not in item.methods:
            yield r.finding(
                s,
                f"许可证未核准以 {method} 方式利用/处置 {line.waste_code}",
                f"the licence does not approve {method} for {line.waste_code}",
                lot_id=str(lot_id),
                method=method,
                approved=list(item.methods) if item else [],
            )


@rule(
    "R55",
    "委外利用处置记录完整",
    "off-site utilisation/disposal record complete",
    HJ1259,
    "6.3.4, 6.3.5",
    T,
    [Step.disposal],
    Severity.block,
)
def r55(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    """The ledger's off-site record (HJ 1259 table 6) names the receiver's type, name and licence
    number and links back to the generation and storage-out batches of each lot."""
    lic = s.licence
    m = s.manifest
    receiver: list[str] = []
    if lic is None:
        receiver.append("接受人经营许可证 receiver licence")
    else:
        if not lic.licence_no.strip():
            receiver.append("许可证编号 licence no.")
        if not lic.holder_name.strip():
            receiver.append("接受人名称 receiver name")
        if lic.enterprise_id != m.handler_enterprise_id:
            receiver.append("许可证持有人与接受人一致 licence held by the receiver")
    for lot_id, _method in s.disposal:
        mlot = m.lot(lot_id)
        missing = list(receiver)
        if not mlot.digital_id:
            missing.append("产生批次编码 generation batch (digital ID)")
        if not mlot.loaded and m.forwarded_from is None:
            missing.append("出库批次 storage-out batch (loading scan)")
        if mlot.accepted_kg is None:
            missing.append("接收量 accepted quantity")
        if missing:
            yield r.finding(
                s,
                f"批次 {mlot.digital_id or lot_id} 的委外利用处置记录缺少：{'、'.join(missing)}",
                f"lot {mlot.digital_id or lot_id}: the off-site record lacks {', '.join(missing)}",
                lot_id=str(lot_id),
                missing=missing,
            )


@rule(
    "R56",
    "移出人跟踪利用处置结果",
    "consignor follows up the disposal result",
    TRANSFER_MEASURES,
    "Arts. 10(5), 12(4)",
    T,
    [Step.disposal],
    Severity.warn,
)
def r56(s: TransferSituation, r: Rule) -> Iterator[Finding]:
    m = s.manifest
    if not s.closing:
        return
    age = (s.now - m.created_at).days
    if age > s.tdata.open_manifest_days:
        yield r.finding(
            s,
            f"联单开出 {age} 天后才闭环（超过 {s.tdata.open_manifest_days} 天）",
            f"the manifest closes {age} days after it was opened "
            f"(over {s.tdata.open_manifest_days})",
            age_days=age,
        )


china_day = china_date  # the China calendar date (one definition: app.domain.values)


def receipt_due(tdata: TransferData, received_at: datetime) -> date:
    return tdata.add_working_days(china_day(received_at), tdata.confirm_working_days)


def transit_overdue_hours(
    tdata: TransferData, status: str, dispatched_at: datetime | None, now: datetime
) -> int | None:
    """Whole hours on the road when a manifest in transit (left at `dispatched_at`, not yet
    arrived) is past `[track] overdue_hours` (R49's watch on the trip, as Zhoushan flags
    "vehicle overtime"); None for one not in transit or not yet past it."""
    if status != ManifestStatus.in_transit or dispatched_at is None:
        return None
    hours = int((now - dispatched_at).total_seconds() // 3600)
    return hours if hours >= tdata.transit_overdue_hours else None


def as_plain(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in findings]
