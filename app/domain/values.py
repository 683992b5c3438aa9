"""Value types shared by the aggregates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _three_places(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.001"))


# Quantities kept to three decimals (kg to the gram, litres to the millilitre), so a value
# reads the same from an event payload, a projection column or an API answer.
Quantity = Annotated[Decimal, AfterValidator(_three_places)]


class Role(StrEnum):
    admin = "admin"
    ehs_manager = "ehs_manager"
    operator = "operator"
    handler = "handler"
    transporter = "transporter"
    auditor = "auditor"


class WasteKind(StrEnum):
    hazardous = "hazardous"  # 危险废物, 名录 code, GB 18597
    general = "general"  # 一般工业固体废物, GB 18599


class GeneralClass(StrEnum):
    """GB 18599-2020 3.6 / 3.7."""

    I = "I"  # noqa: E741
    II = "II"


class HazardCharacteristic(StrEnum):
    """名录 Art. 5(4)."""

    T = "T"  # 毒性 toxicity
    C = "C"  # 腐蚀性 corrosivity
    I = "I"  # noqa: E741 易燃性 ignitability
    R = "R"  # 反应性 reactivity
    In = "In"  # 感染性 infectivity


HAZARD_ORDER = [h.value for h in HazardCharacteristic]


class PhysicalForm(StrEnum):
    solid = "solid"  # 固态
    semi_solid = "semi_solid"  # 半固态
    liquid = "liquid"  # 液态
    gas = "gas"  # 气态 (in a container)


PHYSICAL_FORM_ZH = {"solid": "固态", "semi_solid": "半固态", "liquid": "液态", "gas": "气态"}
CONTAINER_ZH = {
    "drum": "桶",
    "ibc": "吨桶",
    "bag": "袋",
    "ton_bag": "吨袋",
    "box": "箱",
    "tank": "罐",
    "bulk": "散装",
    "other": "其他",
}


class ContainerType(StrEnum):
    drum = "drum"  # 桶
    ibc = "ibc"  # 吨桶
    bag = "bag"  # 袋
    ton_bag = "ton_bag"  # 吨袋
    box = "box"  # 箱
    tank = "tank"  # 罐
    bulk = "bulk"  # 散装 (no container)
    other = "other"


class ContainerCondition(StrEnum):
    intact = "intact"
    damaged = "damaged"
    leaking = "leaking"
    deformed = "deformed"


class ReceiptOutcome(StrEnum):
    accepted = "accepted"
    partly_accepted = "partly_accepted"
    rejected = "rejected"


class Container(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ContainerType
    volume_l: Quantity = Field(ge=0, le=100_000, description="nominal volume in litres")
    material: str | None = Field(default=None, max_length=40, description="e.g. HDPE, steel")
    code: str | None = Field(default=None, max_length=64, description="container/package code")


# GIS categories of the 一般工业固体废物管理台账制定指南 (2021), used for general-waste lots.
GENERAL_CATEGORIES: dict[str, str] = {
    "SW01": "冶炼废渣",
    "SW02": "粉煤灰",
    "SW03": "炉渣",
    "SW04": "煤矸石",
    "SW05": "尾矿",
    "SW06": "脱硫石膏",
    "SW07": "污泥",
    "SW09": "赤泥",
    "SW10": "磷石膏",
    "SW11": "工业副产石膏",
    "SW12": "钻井岩屑",
    "SW13": "食品残渣",
    "SW14": "纺织皮革业废物",
    "SW15": "造纸印刷业废物",
    "SW16": "化工废物",
    "SW17": "可再生类废物",
    "SW59": "其他工业固体废物",
}


def kg_to_t(kg: Decimal) -> Decimal:
    return (kg / Decimal(1000)).quantize(Decimal("0.000001"))


# China keeps one time zone, UTC+8, with no daylight saving: calendar dates on labels, IDs,
# manifests, ledgers and scorecards are China dates.
CHINA_TZ = timezone(timedelta(hours=8), "CST")

# The years a record may name: nothing a plant records lies outside them, and within them every
# China-time day has UTC bounds (0001-01-01 at +08:00 has none).
FIRST_YEAR, LAST_YEAR = 1900, 2999


def china_date(at: datetime) -> date:
    """The calendar date of `at` in China."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused: use an aware datetime")
    return at.astimezone(CHINA_TZ).date()
