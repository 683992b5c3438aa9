"""Frozen DTOs handed to the renderers.  The app maps its models onto these; nothing here
knows about the database."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

#: Hazard characteristics of the 名录, in the order pictograms are drawn.
HAZARD_CODES: tuple[str, ...] = ("T", "C", "I", "R", "In")
#: 废物形态 values printed on labels.
WASTE_FORMS: tuple[str, ...] = ("固态", "半固态", "液态", "气态")


@dataclass(frozen=True)
class LabelData:
    """One HJ 1276 危险废物 label (one container or package)."""

    waste_name: str  # 废物名称
    category: str  # 废物类别, e.g. "HW06"
    waste_code: str  # 废物代码, "900-402-06"
    form: str  # 废物形态: 固态/半固态/液态/气态
    hazards: tuple[str, ...]  # 危险特性, subset of HAZARD_CODES
    main_components: str  # 主要成分
    harmful_components: str  # 有害成分
    precautions: str  # 注意事项
    digital_id: str  # 数字识别码 (37 characters)
    unit_name: str  # 产生/收集单位
    contact_person: str  # 联系人
    phone: str  # 联系方式
    generation_date: _dt.date  # 产生日期
    weight_kg: float | None  # 废物重量 (kg); None = not weighed yet
    container_litres: float  # container volume, selects the label size
    remarks: str = ""  # 备注

    def __post_init__(self) -> None:
        bad = [h for h in self.hazards if h not in HAZARD_CODES]
        if bad:
            raise ValueError(f"unknown hazard characteristic(s) {bad}; use {HAZARD_CODES}")
        if self.container_litres <= 0:
            raise ValueError("container_litres must be positive")


@dataclass(frozen=True)
class AllowedWaste:
    """A category or code allowed in a zone, with its Chinese name."""

    code: str  # "HW06" or "900-402-06"
    name: str  # "废有机溶剂与含有机溶剂废物"


@dataclass(frozen=True)
class ZoneInfo:
    """A zone as shown on the plan view of a zone sign."""

    zone_code: str
    zone_name: str
    categories: tuple[str, ...] = ()  # e.g. ("HW06", "HW49")


@dataclass(frozen=True)
class ZoneSignData:
    """危险废物贮存分区标志 for one zone (its code is scanned to move lots "into this zone")."""

    facility_name: str
    facility_code: str
    zone_code: str
    zone_name: str
    allowed: tuple[AllowedWaste, ...]
    all_zones: tuple[ZoneInfo, ...] = field(default_factory=tuple)  # plan view, optional
    page_size: str = "A4"  # "A4" or "A5"
    allowed_title: str = "本区允许贮存的危险废物 Allowed wastes："  # heading of ``allowed``
    empty_text: str = "（未设定）"  # printed when ``allowed`` is empty


@dataclass(frozen=True)
class FacilitySignData:
    """危险废物贮存/利用/处置设施标志."""

    facility_type: str  # 贮存 / 利用 / 处置
    unit_name: str
    facility_code: str
    responsible_person: str
    phone: str
    page_size: str = "A4"

    def __post_init__(self) -> None:
        if self.facility_type not in ("贮存", "利用", "处置"):
            raise ValueError("facility_type must be 贮存, 利用 or 处置")
