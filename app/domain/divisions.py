"""GB/T 2260 administrative division codes: 6 digits = province (2) + city (2) + county (2)."""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}


def division_problem(code: str) -> str | None:
    if len(code) != 6 or not code.isdigit():
        return f"division code {code!r} must be 6 digits (GB/T 2260)"
    if code[:2] not in PROVINCES:
        return f"division code {code}: {code[:2]} is not a province code"
    if code[2:4] == "00" and code[:2] not in {"11", "12", "31", "50"}:
        return f"division code {code}: name the prefecture-level city (digits 3-4 are 00)"
    return None


def province_of(code: str) -> str:
    return code[:2]


def city_of(code: str) -> str:
    return code[2:4]
