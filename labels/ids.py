"""Lot identifiers printed on labels: the HJ 1276 数字识别码 and our general-solid-waste ID.

Hazardous waste (HJ 1276-2022 digital identification code)
-----------------------------------------------------------
37 characters, four segments, read as (see ``HW_SEGMENTS``, the one place that defines it)::

    unit code (18)  waste code (8)  generation date (8)  sequence (3)
    91350100M000100Y43  90040206     20240315             001

* unit code: the generating/collecting unit's unified social credit code (GB 32100, check
  character verified);
* waste code: the 名录 code ``ddd-ddd-dd`` without hyphens; its last two digits must be an
  existing HW category (HW01-HW40, HW45-HW50) and, if a known-code lookup is passed in, the code
  must be listed;
* generation date: ``YYYYMMDD``, a real calendar date;
* sequence: ``001``-``999``, per unit + waste code + date.

The 18+8+8+3 split is our best reading of HJ 1276 (the standard says 37 characters in these four
segments); it lives only in ``HW_SEGMENTS`` so it can be corrected in one place.

Sequence overflow policy: **refuse**.  The sequence segment stays three decimal digits
``001``-``999``.  ``next_sequence`` raises ``SequenceExhaustedError`` when a unit has already
issued 999 IDs for the same waste code on the same generation date.  Reasons:

* the segment is numeric in every reading of HJ 1276 we have; a base-36 overflow (``A00``...)
  would produce IDs that provincial platforms and third-party scanners validating the national
  format may reject, i.e. a label that looks valid in our system but not outside it;
* the date segment is the *generation* date, so moving lots to the next day's date would
  falsify the record and is not an option;
* 999 containers of one waste code from one unit in one day is far above any plant's real
  output, so hitting the limit almost certainly means a bug or a mis-modelled lot (e.g. one ID
  per bag instead of per container/package); a loud error is the safe behaviour.

General industrial solid waste (GB 18599 lots, not covered by HJ 1276)
---------------------------------------------------------------------
36 characters, see ``GS_SEGMENTS``::

    "GS" (2)  unit USCC (18)  category "SWnn" (4)  date YYYYMMDD (8)  sequence 0001-9999 (4)
    GS        91350100M000100Y43  SW59         20240315              0001

It cannot be confused with a hazardous ID: it is 36 characters (not 37, which is what
``parse_lot_id`` dispatches on), starts with ``GS`` so a person sees the difference at once, and
has letters at positions 21-22 where the hazardous ID has only digits.  The same overflow policy
applies (``0001``-``9999``, refusal beyond).

Scanning: the QR and the Code 128 on a label both carry exactly the bare ID, nothing else;
``normalise_scan`` cleans what a scanner delivers (whitespace, CR/LF, an AIM symbology prefix
such as ``]Q1`` or ``]C0``, full-width characters typed by an IME, lower case).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass

from app.domain.uscc import uscc_problem

__all__ = [
    "GS_ID_LENGTH",
    "GS_SEGMENTS",
    "HW_CATEGORIES",
    "HW_ID_LENGTH",
    "HW_SEGMENTS",
    "MAX_GS_SEQUENCE",
    "MAX_HW_SEQUENCE",
    "DigitalId",
    "DigitalIdError",
    "GeneralWasteId",
    "KnownCodes",
    "SegmentSpec",
    "SequenceExhaustedError",
    "format_digital_id",
    "format_general_waste_id",
    "is_general_waste_id",
    "is_hazardous_id",
    "next_sequence",
    "normalise_scan",
    "normalise_waste_code",
    "parse_digital_id",
    "parse_general_waste_id",
    "parse_lot_id",
]

#: HW category numbers that exist in the 名录 (HW41-HW44 do not exist).
HW_CATEGORIES: frozenset[int] = frozenset([*range(1, 41), *range(45, 51)])

#: A set of known 名录 codes (hyphenated ``ddd-ddd-dd`` or plain 8 digits), or a predicate that
#: receives the hyphenated code.  ``None`` accepts any syntactically valid code.
KnownCodes = Collection[str] | Callable[[str], bool] | None

MAX_HW_SEQUENCE = 999
MAX_GS_SEQUENCE = 9999


class DigitalIdError(ValueError):
    """An identifier (or its parts) is invalid; ``reasons`` lists every problem found."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


class SequenceExhaustedError(DigitalIdError):
    """No sequence number left for this unit + waste code + date (see module docstring)."""


Validator = Callable[[str, KnownCodes], list[str]]


@dataclass(frozen=True)
class SegmentSpec:
    """One fixed-width segment of an identifier."""

    name: str
    length: int
    label_zh: str
    validate: Validator


# --------------------------------------------------------------------------- validators


def _v_uscc(value: str, _known: KnownCodes) -> list[str]:
    problem = uscc_problem(value)
    return [] if problem is None else [f"unit code (USCC) {value!r}: {problem}"]


def _is_known(code: str, known: KnownCodes) -> bool:
    """``code`` is hyphenated ``ddd-ddd-dd``."""
    if known is None:
        return True
    if callable(known):
        return bool(known(code))
    return code in known or code.replace("-", "") in known


def _v_waste_code(value: str, known: KnownCodes) -> list[str]:
    if not (value.isascii() and value.isdigit()):
        return [f"waste code {value!r} must be 8 digits"]
    hyph = f"{value[:3]}-{value[3:6]}-{value[6:]}"
    cat = int(value[6:])
    if cat not in HW_CATEGORIES:
        return [f"waste code {hyph}: last two digits {value[6:]} are not an HW category"]
    if not _is_known(hyph, known):
        return [f"waste code {hyph} is not in the 名录 (national HW list)"]
    return []


def _v_date(value: str, _known: KnownCodes) -> list[str]:
    if not (value.isascii() and value.isdigit()):
        return [f"date {value!r} must be 8 digits YYYYMMDD"]
    try:
        _dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return [f"date {value!r} is not a real date"]
    return []


def _v_seq(value: str, _known: KnownCodes) -> list[str]:
    if not (value.isascii() and value.isdigit()):
        return [f"sequence {value!r} must be {len(value)} digits"]
    if int(value) == 0:
        return [f"sequence {value!r} must start at {'0' * (len(value) - 1)}1"]
    return []


def _v_gs_prefix(value: str, _known: KnownCodes) -> list[str]:
    return [] if value == "GS" else [f"prefix {value!r} should be 'GS'"]


_SW_RE = re.compile(r"SW\d\d")


def _v_sw_category(value: str, known: KnownCodes) -> list[str]:
    if not _SW_RE.fullmatch(value) or value == "SW00":
        return [f"solid-waste category {value!r} must be 'SW01'-'SW99'"]
    if known is not None and not _is_known(value, known):
        return [f"solid-waste category {value} is not known"]
    return []


#: The HJ 1276 digital identification code, segment by segment (18 + 8 + 8 + 3 = 37).
HW_SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec("unit_code", 18, "单位代码", _v_uscc),
    SegmentSpec("waste_code", 8, "废物代码", _v_waste_code),
    SegmentSpec("date", 8, "产生日期", _v_date),
    SegmentSpec("seq", 3, "序列号", _v_seq),
)

#: Our general industrial solid waste lot ID (2 + 18 + 4 + 8 + 4 = 36).
GS_SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec("prefix", 2, "前缀", _v_gs_prefix),
    SegmentSpec("unit_code", 18, "单位代码", _v_uscc),
    SegmentSpec("category", 4, "固废类别", _v_sw_category),
    SegmentSpec("date", 8, "产生日期", _v_date),
    SegmentSpec("seq", 4, "序列号", _v_seq),
)

HW_ID_LENGTH = sum(s.length for s in HW_SEGMENTS)
GS_ID_LENGTH = sum(s.length for s in GS_SEGMENTS)
assert HW_ID_LENGTH == 37 and GS_ID_LENGTH == 36


def _split(text: str, specs: tuple[SegmentSpec, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    for spec in specs:
        out[spec.name] = text[pos : pos + spec.length]
        pos += spec.length
    return out


def _check(
    text: str, specs: tuple[SegmentSpec, ...], what: str, known: KnownCodes
) -> dict[str, str]:
    total = sum(s.length for s in specs)
    if len(text) != total:
        raise DigitalIdError([f"{what} must be {total} characters, got {len(text)}"])
    parts = _split(text, specs)
    reasons: list[str] = []
    for spec in specs:
        reasons.extend(spec.validate(parts[spec.name], known))
    if reasons:
        raise DigitalIdError(reasons)
    return parts


def _ymd(d: str) -> _dt.date:
    return _dt.date(int(d[:4]), int(d[4:6]), int(d[6:]))


# --------------------------------------------------------------------------- hazardous


@dataclass(frozen=True)
class DigitalId:
    """A parsed, valid HJ 1276 digital identification code."""

    unit_code: str
    waste_code: str  # hyphenated ddd-ddd-dd
    date: _dt.date
    seq: int

    @property
    def category(self) -> str:
        """``HWxx`` from the last two digits of the waste code."""
        return "HW" + self.waste_code[-2:]

    @property
    def text(self) -> str:
        return f"{self.unit_code}{self.waste_code.replace('-', '')}{self.date:%Y%m%d}{self.seq:03d}"

    def __str__(self) -> str:
        return self.text


def normalise_waste_code(code: str) -> str:
    """``'900-402-06'`` / ``'90040206'`` / ``' 900 402 06 '`` -> ``'90040206'`` (no validation)."""
    return re.sub(r"[\s\-‐‑–—_]", "", code)


def _date_text(date: _dt.date | str) -> str:
    if isinstance(date, _dt.date):
        return f"{date:%Y%m%d}"
    return date.replace("-", "")


def _seq_text(seq: int, width: int, maximum: int) -> str:
    if seq < 1:
        raise DigitalIdError([f"sequence {seq} must be at least 1"])
    if seq > maximum:
        raise SequenceExhaustedError([f"sequence {seq} exceeds {maximum} (policy: refuse)"])
    return f"{seq:0{width}d}"


def format_digital_id(
    uscc: str,
    waste_code: str,
    date: _dt.date | str,
    seq: int,
    *,
    known_codes: KnownCodes = None,
) -> str:
    """Build the 37-character HJ 1276 digital ID; raises ``DigitalIdError`` if any part is bad.

    ``waste_code`` may be hyphenated; ``date`` is a ``datetime.date``, ``'YYYYMMDD'`` or
    ``'YYYY-MM-DD'``.
    """
    text = uscc + normalise_waste_code(waste_code) + _date_text(date) + _seq_text(seq, 3, 999)
    parse_digital_id(text, known_codes=known_codes)
    return text


def parse_digital_id(s: str, *, known_codes: KnownCodes = None) -> DigitalId:
    """Parse and fully validate a 37-character digital ID (after ``normalise_scan``)."""
    p = _check(s, HW_SEGMENTS, "digital ID", known_codes)
    wc = p["waste_code"]
    return DigitalId(
        unit_code=p["unit_code"],
        waste_code=f"{wc[:3]}-{wc[3:6]}-{wc[6:]}",
        date=_ymd(p["date"]),
        seq=int(p["seq"]),
    )


def next_sequence(last_issued: int | None, *, general_waste: bool = False) -> int:
    """Sequence number to allocate after ``last_issued`` (None = first of the day).

    Raises ``SequenceExhaustedError`` past 999 (hazardous) / 9999 (general waste): see the
    overflow policy in the module docstring.
    """
    maximum = MAX_GS_SEQUENCE if general_waste else MAX_HW_SEQUENCE
    nxt = 1 if last_issued is None else last_issued + 1
    if nxt > maximum:
        raise SequenceExhaustedError(
            [
                f"all {maximum} sequence numbers for this unit, waste code and generation date "
                "are used; HJ 1276 allows no more (merge containers into fewer lots, or check "
                "for a labelling loop) - the generation date must not be changed"
            ]
        )
    return nxt


# --------------------------------------------------------------------------- general waste


@dataclass(frozen=True)
class GeneralWasteId:
    """A parsed, valid general industrial solid waste lot ID (``GS...``)."""

    unit_code: str
    category: str  # SWnn
    date: _dt.date
    seq: int

    @property
    def text(self) -> str:
        return f"GS{self.unit_code}{self.category}{self.date:%Y%m%d}{self.seq:04d}"

    def __str__(self) -> str:
        return self.text


def format_general_waste_id(
    uscc: str,
    category: str,
    date: _dt.date | str,
    seq: int,
    *,
    known_categories: KnownCodes = None,
) -> str:
    """Build the 36-character general-waste lot ID.

    ``GS`` + USCC + ``SWnn`` + date + 4-digit sequence.
    """
    text = "GS" + uscc + category.strip().upper() + _date_text(date) + _seq_text(seq, 4, 9999)
    parse_general_waste_id(text, known_categories=known_categories)
    return text


def parse_general_waste_id(s: str, *, known_categories: KnownCodes = None) -> GeneralWasteId:
    """Parse and fully validate a general-waste lot ID."""
    p = _check(s, GS_SEGMENTS, "general-waste ID", known_categories)
    return GeneralWasteId(
        unit_code=p["unit_code"], category=p["category"], date=_ymd(p["date"]), seq=int(p["seq"])
    )


# --------------------------------------------------------------------------- scanning

_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
# What a scanner usually sends, and every code we print: already clean (nothing to remove,
# fold or upper-case), so returned as it is without a pass over each character.
_CLEAN = re.compile(r"[0-9A-Z-]+")


def normalise_scan(raw: str) -> str:
    """Clean a scanner/keyboard payload into a bare ID (QR and Code 128 carry the same text).

    Removes all whitespace (including CR/LF, tabs, NBSP and the ideographic space), NULs and
    other control characters, an AIM symbology identifier prefix (``]Q1``, ``]C0``...), folds
    full-width forms (IME input) to ASCII and upper-cases.  Does not validate.
    """
    return raw if _CLEAN.fullmatch(raw) else _normalise(raw)


def _normalise(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")
    text = _AIM_PREFIX.sub("", text)
    return text.upper()


def is_hazardous_id(s: str) -> bool:
    """Cheap shape test (length and leading character), no validation."""
    return len(s) == HW_ID_LENGTH


def is_general_waste_id(s: str) -> bool:
    """Cheap shape test, no validation."""
    return len(s) == GS_ID_LENGTH and s.startswith("GS")


def parse_lot_id(
    raw: str, *, known_codes: KnownCodes = None, known_categories: KnownCodes = None
) -> DigitalId | GeneralWasteId:
    """Normalise a scan and parse it as whichever kind of lot ID it is."""
    s = normalise_scan(raw)
    if len(s) == GS_ID_LENGTH:
        return parse_general_waste_id(s, known_categories=known_categories)
    return parse_digital_id(s, known_codes=known_codes)
