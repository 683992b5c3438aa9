"""Rules checked at storage-in and moves (GB 18597, GB 18599, 固废法 Art. 81)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from app.domain.rules.base import Finding, Rule, Severity, Situation, Step
from app.domain.rules.common import (
    GB18597,
    GB18599,
    GIS_YARDS,
    LAW,
    LIQUID_HOLDERS,
    LOOSE_PILE_OK,
    P3,
    POL,
    RC,
    SPOT,
    STORE,
    T,
    is_hazardous,
    is_voc_prone,
    lot_groups,
    rule,
)
from app.domain.values import ContainerCondition, WasteKind

# ---------------------------------------------------------------- storage-in


@rule(
    "R09",
    "入库前须粘贴危险废物标签",
    "a container is labelled before it enters storage",
    LAW,
    "Art. 77; GB 18597 4.6",
    T,
    STORE,
    Severity.block,
)
def r09(s: Situation, r: Rule) -> Iterator[Finding]:
    if is_hazardous(s) and s.the_lot.labelled_at is None:
        yield r.finding(
            s,
            "该批次尚未粘贴 HJ 1276 标签，不得入库",
            "this lot carries no HJ 1276 label yet: label it before storage",
        )


@rule(
    "R16",
    "入库核对标签与批次一致",
    "at storage-in the scanned label matches the lot",
    GB18597,
    "8.2.1",
    RC,
    STORE,
    Severity.block,
)
def r16(s: Situation, r: Rule) -> Iterator[Finding]:
    lot = s.the_lot
    if is_hazardous(s) and not lot.hazard_characteristics:
        yield r.finding(
            s,
            "危险特性未知的废物不得入库",
            "waste with unknown characteristics may not enter storage",
        )
    if s.scanned_code is None or lot.digital_id is None:
        return
    if s.scanned_code != lot.digital_id:
        yield r.finding(
            s,
            f"扫描的标签 {s.scanned_code} 不是该批次的标签 {lot.digital_id}",
            f"the scanned label {s.scanned_code} is not this lot's ({lot.digital_id})",
            scanned=s.scanned_code,
            expected=lot.digital_id,
        )


@rule(
    "R17",
    "不相容危险废物不得混存",
    "incompatible wastes are not stored together",
    LAW,
    "Art. 81 ¶1; GB 18597 4.3, 6.1.2",
    P3,
    STORE,
    Severity.block,
)
def r17(s: Situation, r: Rule) -> Iterator[Finding]:
    if s.contents is None or not s.contents.mixes:
        return
    mine = lot_groups(s, s.the_lot)
    for mix in s.contents.mixes:
        theirs = s.data.groups_of(mix.category, mix.hazards, mix.properties)
        for inc in s.data.incompatible:
            if inc.b == "*":
                clash = (inc.a in mine) != (inc.a in theirs)
            else:
                clash = (inc.a in mine and inc.b in theirs) or (inc.b in mine and inc.a in theirs)
            if clash:
                a_zh, a_en = s.data.group_label(inc.a)
                yield r.finding(
                    s,
                    f"与区内 {mix.category}（{mix.lot_count} 件）不相容：{a_zh}"
                    + (f"与{s.data.group_label(inc.b)[0]}" if inc.b != "*" else "")
                    + f"，{inc.result_zh}",
                    f"incompatible with {mix.category} in this zone ({mix.lot_count} lots): "
                    f"{a_en}"
                    + (f" with {s.data.group_label(inc.b)[1]}" if inc.b != "*" else "")
                    + f" — {inc.result_en}",
                    zone_category=mix.category,
                    pair=[inc.a, inc.b],
                    lot_groups=sorted(mine),
                )
                return


@rule(
    "R18",
    "按分区标志允许的类别贮存",
    "stored where the zone sign allows",
    GB18597,
    "6.1.2; HJ 1276 贮存分区标志",
    P3,
    STORE,
    Severity.warn,
)
def r18(s: Situation, r: Rule) -> Iterator[Finding]:
    z, lot = s.zone, s.the_lot
    if z is None or not (z.allowed_categories or z.allowed_codes):
        return
    if lot.category in z.allowed_categories or (lot.waste_code or "") in z.allowed_codes:
        return
    allowed = list(z.allowed_categories) + list(z.allowed_codes)
    yield r.finding(
        s,
        f"{z.code} 区标志允许 {'、'.join(allowed)}，不含 {lot.waste_code or lot.category}",
        f"zone {z.code} is signed for {', '.join(allowed)}, not {lot.waste_code or lot.category}",
        allowed=allowed,
    )


@rule(
    "R19",
    "危险废物不得进入一般固废贮存场所",
    "hazardous waste never enters general-waste storage",
    LAW,
    "Art. 81 ¶2; GB 18599 6.5",
    T,
    STORE,
    Severity.block,
)
def r19(s: Situation, r: Rule) -> Iterator[Finding]:
    z, lot = s.zone, s.the_lot
    if z is None:
        return
    if lot.kind is WasteKind.hazardous and z.kind == "general":
        yield r.finding(
            s,
            f"危险废物不得进入一般工业固体废物贮存区 {z.code}",
            f"hazardous waste may not enter the general-waste zone {z.code}",
        )
    elif lot.kind is WasteKind.general and z.kind == "hazardous":
        yield r.finding(
            s,
            f"一般工业固体废物不宜混入危险废物贮存区 {z.code}",
            f"general industrial waste should not be mixed into the hazardous-waste zone {z.code}",
            severity=Severity.warn,
        )


@rule(
    "R20",
    "液态废物须有足够的泄漏堵截容积",
    "liquid storage has enough leak containment",
    GB18597,
    "6.2.2",
    P3,
    STORE,
    Severity.block,
)
def r20(s: Situation, r: Rule) -> Iterator[Finding]:
    lot, z = s.the_lot, s.zone
    if z is None or lot.physical_form.value != "liquid":
        return
    contents = s.contents
    liquid = (contents.liquid_l if contents else Decimal(0)) + lot.container.volume_l
    largest = max(
        contents.max_liquid_container_l if contents else Decimal(0), lot.container.volume_l
    )
    needed = max(largest, (liquid / 10).quantize(Decimal("0.001")))
    have = z.containment_l
    if have is None or have < needed:
        yield r.finding(
            s,
            f"{z.code} 区泄漏堵截容积 {have if have is not None else '未登记'} L，"
            f"需不小于 {needed} L（最大容器 {largest} L 与液态总量 {liquid} L 的 1/10 取大者）",
            f"zone {z.code} containment {have if have is not None else 'not recorded'} L; "
            f"needs ≥ {needed} L (the larger of the largest container {largest} L and 1/10 "
            f"of {liquid} L of liquids)",
            containment_l=have,
            needed_l=needed,
            largest_container_l=largest,
            liquid_l=liquid,
        )


@rule("R22", "贮存设施防渗", "facility anti-seepage", GB18597, "6.1.4", P3, STORE, Severity.warn)
def r22(s: Situation, r: Rule) -> Iterator[Finding]:
    f = s.zone.facility if s.zone else None
    if f is None or (s.lot is not None and not is_hazardous(s)):
        return  # (without a lot: the facility audit itself)
    if not f.surface_antiseepage:
        yield r.finding(
            s,
            f"设施 {f.code} 未登记表面防渗",
            f"facility {f.code}: no surface anti-seepage recorded",
        )
    if f.direct_ground_contact:
        k, t = f.liner_permeability_cm_s, f.liner_thickness_mm
        ok = (
            f.base_liner == "clay" and t is not None and t >= 1000 and k is not None and k <= 1e-7
        ) or (f.base_liner == "hdpe" and t is not None and t >= 2 and k is not None and k <= 1e-10)
        if not ok:
            yield r.finding(
                s,
                f"设施 {f.code} 废物直接接触地面，基础防渗层不满足：黏土≥1 m 且 K≤1e-7 "
                "cm/s，或 HDPE≥2 mm 且 K≤1e-10 cm/s",
                f"facility {f.code}: waste touches the ground and the base liner is "
                "not ≥1 m clay with K≤1e-7 cm/s or ≥2 mm HDPE with K≤1e-10 cm/s",
                base_liner=f.base_liner,
                thickness_mm=t,
                permeability_cm_s=k,
            )


def _material(value: str | None) -> str:
    m = (value or "").strip().lower().replace("aluminum", "aluminium")
    return {
        "金属": "steel",
        "钢": "steel",
        "铁": "iron",
        "铝": "aluminium",
        "玻璃": "glass",
        "metal": "steel",
        "stainless steel": "stainless steel",
    }.get(m, m)


@rule(
    "R23",
    "容器材质与废物相容",
    "container material is compatible with the waste",
    GB18597,
    "7.1",
    P3,
    [Step.storage_in, Step.repack],  # a new container is checked too
    Severity.block,
)
def r23(s: Situation, r: Rule) -> Iterator[Finding]:
    lot = s.the_lot
    material = _material(lot.container.material)
    if not material:
        return
    groups = lot_groups(s, lot)
    for m in s.data.materials:
        if m.group in groups and m.material == material:
            yield r.finding(
                s,
                f"{lot.container.material} 容器不适合盛装 {lot.category}：{m.result_zh}",
                f"a {lot.container.material} container is unsuitable for "
                f"{lot.category}: {m.result_en}",
                material=material,
                group=m.group,
            )
            return


@rule(
    "R24",
    "液态、半固态废物容器留足顶部空间",
    "headspace left in liquid containers",
    GB18597,
    "7.x (2001 edition: 100 mm)",
    RC,
    [Step.storage_in, Step.repack],
    Severity.warn,
)
def r24(s: Situation, r: Rule) -> Iterator[Finding]:
    lot = s.the_lot
    if (
        lot.physical_form.value not in {"liquid", "semi_solid"}
        or lot.container.type.value == "bulk"
    ):
        return
    need = s.data.dec("storage", "headspace_mm")
    if lot.headspace_mm is None:
        yield r.finding(
            s, "未记录容器顶部空间", "the container's headspace is not recorded", needed_mm=need
        )
    elif lot.headspace_mm < need:
        yield r.finding(
            s,
            f"容器顶部空间 {lot.headspace_mm} mm，应不小于 {need} mm",
            f"headspace {lot.headspace_mm} mm is below {need} mm",
            headspace_mm=lot.headspace_mm,
            needed_mm=need,
        )


@rule(
    "R25",
    "破损、渗漏容器须更换后入库",
    "damaged or leaking containers are repacked first",
    GB18597,
    "7.3, 7.4, 8.2.2",
    P3,
    [Step.storage_in, Step.inspection],
    Severity.block,
)
def r25(s: Situation, r: Rule) -> Iterator[Finding]:
    lot = s.the_lot
    if lot.condition is not ContainerCondition.intact:
        zh = {"damaged": "破损", "leaking": "渗漏", "deformed": "变形"}[lot.condition.value]
        # At an inspection the finding records what must happen next; at storage-in it blocks.
        yield r.finding(
            s,
            f"容器{zh}，须先更换包装（重新包装）",
            f"the container is {lot.condition.value}: repack it first",
            severity=Severity.warn if s.step is Step.inspection else None,
            condition=lot.condition.value,
        )


@rule(
    "R26",
    "液态、半固态及易挥发废物须装入容器",
    "liquids, semi-solids and volatile wastes are containerised",
    GB18597,
    "8.1",
    RC,
    STORE,
    Severity.block,
)
def r26(s: Situation, r: Rule) -> Iterator[Finding]:
    lot, z = s.the_lot, s.zone
    if lot.container.type.value != "bulk" or z is None:
        return
    ftype = z.facility_type
    if lot.physical_form.value in {"liquid", "semi_solid"} and ftype in LIQUID_HOLDERS:
        return
    if lot.physical_form.value in {"liquid", "semi_solid", "gas"} or is_voc_prone(s, lot):
        yield r.finding(
            s,
            "液态、半固态或易挥发废物不得散装堆放，须装入容器或贮存池/罐",
            "liquid, semi-solid or volatile waste may not be piled loose: use "
            "containers, a pool or a tank",
            form=lot.physical_form.value,
        )
    elif ftype not in LOOSE_PILE_OK and ftype != SPOT:
        yield r.finding(
            s,
            "散装固态废物只可堆放于贮存库或贮存场",
            "loose solid waste may only be piled in a warehouse or a yard",
            facility_type=ftype,
        )


@rule(
    "R27",
    "易挥发、有异味废物须在有气体收集的分区",
    "volatile or odorous waste goes to a zone with gas collection",
    GB18597,
    "6.2.3, 8.1",
    P3,
    STORE,
    Severity.warn,
)
def r27(s: Situation, r: Rule) -> Iterator[Finding]:
    lot, z = s.the_lot, s.zone
    if z is None or z.gas_collection or not is_hazardous(s) or not is_voc_prone(s, lot):
        return
    yield r.finding(
        s,
        f"{lot.waste_code or lot.category} 易产生挥发性有机物或异味，{z.code} 区无气体收集",
        f"{lot.waste_code or lot.category} gives off VOCs or odour and zone {z.code} "
        "has no gas collection",
    )


@rule(
    "R28",
    "贮存点废物须装入容器或包装",
    "at a storage spot waste is in containers",
    GB18597,
    "8.3.3",
    P3,
    STORE,
    Severity.block,
)
def r28(s: Situation, r: Rule) -> Iterator[Finding]:
    if s.zone is None or s.zone.facility_type != SPOT:
        return
    if s.the_lot.container.type.value == "bulk":
        yield r.finding(s, "贮存点不得散装堆放废物", "waste may not lie loose at a storage spot")


@rule(
    "R29",
    "贮存点实时贮存量不超过 3 吨",
    "a storage spot holds at most 3 t",
    GB18597,
    "8.3.5",
    P3,
    STORE,
    Severity.block,
)
def r29(s: Situation, r: Rule) -> Iterator[Finding]:
    if s.zone is None or s.zone.facility_type != SPOT:
        return
    limit = s.data.dec("storage", "spot_limit_kg")
    have = Decimal(0)
    if s.contents is not None:
        have = s.contents.weight_kg if s.contents.facility_kg is None else s.contents.facility_kg
    spot = s.zone.facility.code if s.zone.facility is not None else s.zone.code
    total = have + s.the_lot.weight_kg
    if total > limit:
        yield r.finding(
            s,
            f"贮存点 {spot} 现存 {have} kg，加入本批 {s.the_lot.weight_kg} kg 后 "
            f"{total} kg，超过 {limit} kg",
            f"storage spot {spot} holds {have} kg; with this lot {total} kg exceeds {limit} kg",
            stock_kg=have,
            lot_kg=s.the_lot.weight_kg,
            total_kg=total,
            limit_kg=limit,
        )


@rule(
    "R30",
    "易爆、易燃或产生有毒气体的废物须预处理稳定",
    "unstable waste is stabilised or stored as dangerous goods",
    GB18597,
    "4.9",
    P3,
    STORE,
    Severity.block,
)
def r30(s: Situation, r: Rule) -> Iterator[Finding]:
    lot, z = s.the_lot, s.zone
    if "unstable" not in lot.properties or "stabilised" in lot.properties:
        return
    if z is not None and z.explosion_rated:
        return
    yield r.finding(
        s,
        "不稳定废物须先预处理稳定，或存入按易燃易爆危险品设计的分区",
        "unstable waste must be stabilised first or go to a zone rated for "
        "explosive/flammable dangerous goods",
    )


@rule(
    "R63",
    "一般工业固体废物按类别进入 I/II 类场",
    "general waste enters the class of yard it qualifies for",
    GB18599,
    "3.6, 3.7, 6.1, 6.2",
    T,
    STORE,
    Severity.block,
)
def r63(s: Situation, r: Rule) -> Iterator[Finding]:
    lot, z = s.the_lot, s.zone
    if z is None or lot.kind is not WasteKind.general or z.facility_type not in GIS_YARDS:
        return
    yard = GIS_YARDS[z.facility_type]  # type: ignore[index]
    key = "class_i" if yard == "I" else "class_ii"
    if yard == "I" and lot.general_class is not None and lot.general_class.value != "I":
        yield r.finding(
            s,
            "第 II 类一般工业固体废物不得进入 I 类场",
            "Type II general waste may not enter a class I yard",
        )
        return
    for field, param, label_zh, label_en in [
        ("organic_matter_pct", "organic", "有机质", "organic matter"),
        ("soluble_salts_pct", "salts", "水溶性盐", "water-soluble salts"),
    ]:
        limit = s.data.dec("gis", f"{key}_{param}_max_pct")
        value = getattr(lot, field)
        if value is None:
            yield r.finding(
                s,
                f"未检测{label_zh}含量，无法判定能否进入 {yard} 类场",
                f"{label_en} not measured: cannot admit to a class {yard} yard",
                limit_pct=limit,
            )
        elif value >= limit:
            yield r.finding(
                s,
                f"{label_zh}含量 {value}% 不低于 {yard} 类场限值 {limit}%",
                f"{label_en} {value}% is not below the class {yard} limit {limit}%",
                value_pct=value,
                limit_pct=limit,
            )


@rule(
    "H01",
    "分区容量",
    "zone capacity",
    "hazchain",
    "zone capacity (EIA design figures)",
    POL,
    STORE,
    Severity.warn,
)
def h01(s: Situation, r: Rule) -> Iterator[Finding]:
    z = s.zone
    if z is None:
        return
    have = s.contents or None
    kg = (have.weight_kg if have else Decimal(0)) + s.the_lot.weight_kg
    litres = (have.volume_l if have else Decimal(0)) + s.the_lot.container.volume_l
    if z.capacity_kg is not None and kg > z.capacity_kg:
        yield r.finding(
            s,
            f"{z.code} 区将达 {kg} kg，超过设计容量 {z.capacity_kg} kg",
            f"zone {z.code} would hold {kg} kg, above its {z.capacity_kg} kg capacity",
            total_kg=kg,
            capacity_kg=z.capacity_kg,
        )
    if z.capacity_l is not None and litres > z.capacity_l:
        yield r.finding(
            s,
            f"{z.code} 区将达 {litres} L，超过设计容量 {z.capacity_l} L",
            f"zone {z.code} would hold {litres} L, above its {z.capacity_l} L capacity",
            total_l=litres,
            capacity_l=z.capacity_l,
        )
