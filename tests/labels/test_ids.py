import datetime as dt

import pytest

from labels.ids import (
    HW_SEGMENTS,
    DigitalIdError,
    GeneralWasteId,
    SequenceExhaustedError,
    format_digital_id,
    format_general_waste_id,
    next_sequence,
    normalise_scan,
    parse_digital_id,
    parse_general_waste_id,
    parse_lot_id,
)

USCC = "91350100M000100Y43"
GOOD_ID = USCC + "90040206" + "20240315" + "001"
KNOWN = {"900-402-06", "271-001-02", "900-041-49"}


def test_segments_add_up_to_37() -> None:
    assert sum(s.length for s in HW_SEGMENTS) == 37
    assert [s.name for s in HW_SEGMENTS] == ["unit_code", "waste_code", "date", "seq"]


def test_format_and_parse_round_trip() -> None:
    text = format_digital_id(USCC, "900-402-06", dt.date(2024, 3, 15), 1, known_codes=KNOWN)
    assert text == GOOD_ID
    did = parse_digital_id(text, known_codes=KNOWN)
    assert did.unit_code == USCC
    assert did.waste_code == "900-402-06"
    assert did.category == "HW06"
    assert did.date == dt.date(2024, 3, 15)
    assert did.seq == 1
    assert did.text == text == str(did)


def test_format_accepts_plain_code_and_string_date() -> None:
    assert format_digital_id(USCC, "90040206", "2024-03-15", 1) == GOOD_ID
    assert format_digital_id(USCC, "90040206", "20240315", 999).endswith("999")


def test_known_codes_callable_and_plain_set() -> None:
    assert parse_digital_id(GOOD_ID, known_codes=lambda c: c == "900-402-06").seq == 1
    assert parse_digital_id(GOOD_ID, known_codes={"90040206"}).seq == 1


BAD_IDS = [
    (GOOD_ID[:-1], ["digital ID must be 37 characters, got 36"]),
    (GOOD_ID + "1", ["digital ID must be 37 characters, got 38"]),
    (
        "91350100M000100Y44" + "90040206" + "20240315" + "001",
        ["unit code (USCC) '91350100M000100Y44': check character should be '3', got '4'"],
    ),
    (
        USCC + "90040243" + "20240315" + "001",
        ["waste code 900-402-43: last two digits 43 are not an HW category"],
    ),
    (
        USCC + "90040200" + "20240315" + "001",
        ["waste code 900-402-00: last two digits 00 are not an HW category"],
    ),
    (USCC + "9004020A" + "20240315" + "001", ["waste code '9004020A' must be 8 digits"]),
    (USCC + "90040206" + "20240230" + "001", ["date '20240230' is not a real date"]),
    (USCC + "90040206" + "2024031X" + "001", ["date '2024031X' must be 8 digits YYYYMMDD"]),
    (USCC + "90040206" + "20240315" + "000", ["sequence '000' must start at 001"]),
    (USCC + "90040206" + "20240315" + "A00", ["sequence 'A00' must be 3 digits"]),
    (
        "91350100M000100Y44" + "90040243" + "20241301" + "000",
        [
            "unit code (USCC) '91350100M000100Y44': check character should be '3', got '4'",
            "waste code 900-402-43: last two digits 43 are not an HW category",
            "date '20241301' is not a real date",
            "sequence '000' must start at 001",
        ],
    ),
]


@pytest.mark.parametrize(("text", "reasons"), BAD_IDS)
def test_bad_ids(text: str, reasons: list[str]) -> None:
    with pytest.raises(DigitalIdError) as ei:
        parse_digital_id(text)
    assert ei.value.reasons == reasons


def test_unknown_code_is_reported() -> None:
    text = USCC + "90099906" + "20240315" + "001"
    assert parse_digital_id(text).waste_code == "900-999-06"  # default: syntax only
    with pytest.raises(DigitalIdError) as ei:
        parse_digital_id(text, known_codes=KNOWN)
    assert ei.value.reasons == ["waste code 900-999-06 is not in the 名录 (national HW list)"]


def test_sequence_overflow_is_refused() -> None:
    assert next_sequence(None) == 1
    assert next_sequence(998) == 999
    with pytest.raises(SequenceExhaustedError) as ei:
        next_sequence(999)
    assert "generation date must not be changed" in str(ei.value)
    with pytest.raises(SequenceExhaustedError):
        format_digital_id(USCC, "900-402-06", dt.date(2024, 3, 15), 1000)
    with pytest.raises(DigitalIdError):
        format_digital_id(USCC, "900-402-06", dt.date(2024, 3, 15), 0)
    # general waste: 4-digit sequence
    assert next_sequence(9998, general_waste=True) == 9999
    with pytest.raises(SequenceExhaustedError):
        next_sequence(9999, general_waste=True)


def test_general_waste_id() -> None:
    text = format_general_waste_id(USCC, "sw59", dt.date(2024, 3, 15), 12)
    assert text == "GS" + USCC + "SW59" + "20240315" + "0012"
    assert len(text) == 36
    gid = parse_general_waste_id(text)
    assert gid == GeneralWasteId(USCC, "SW59", dt.date(2024, 3, 15), 12)
    assert gid.text == text
    # distinguishable from a hazardous ID
    assert isinstance(parse_lot_id(text), GeneralWasteId)
    assert parse_lot_id(GOOD_ID).waste_code == "900-402-06"
    with pytest.raises(DigitalIdError) as ei:
        parse_digital_id(text)
    assert ei.value.reasons == ["digital ID must be 37 characters, got 36"]


BAD_GS = [
    ("GX" + USCC + "SW59202403150001", ["prefix 'GX' should be 'GS'"]),
    ("GS" + USCC + "SW00202403150001", ["solid-waste category 'SW00' must be 'SW01'-'SW99'"]),
    ("GS" + USCC + "HW06202403150001", ["solid-waste category 'HW06' must be 'SW01'-'SW99'"]),
    ("GS" + USCC + "SW59202403150000", ["sequence '0000' must start at 0001"]),
    ("GS" + USCC + "SW59202402300001", ["date '20240230' is not a real date"]),
    ("GS" + USCC + "SW5920240315001", ["general-waste ID must be 36 characters, got 35"]),
]


@pytest.mark.parametrize(("text", "reasons"), BAD_GS)
def test_bad_general_ids(text: str, reasons: list[str]) -> None:
    with pytest.raises(DigitalIdError) as ei:
        parse_general_waste_id(text)
    assert ei.value.reasons == reasons


def test_general_known_categories() -> None:
    text = "GS" + USCC + "SW59202403150001"
    with pytest.raises(DigitalIdError):
        parse_general_waste_id(text, known_categories={"SW01"})
    assert parse_general_waste_id(text, known_categories={"SW59"}).seq == 1


@pytest.mark.parametrize(
    "raw",
    [
        GOOD_ID,
        f"  {GOOD_ID}\r\n",
        f"]Q1{GOOD_ID}\n",
        f"]C0{GOOD_ID}",
        GOOD_ID.lower(),
        "\u3000" + GOOD_ID + "\t",
        "".join(chr(ord(c) + 0xFEE0) for c in GOOD_ID),  # full-width IME input
        GOOD_ID[:10] + " " + GOOD_ID[10:],
    ],
)
def test_normalise_scan(raw: str) -> None:
    assert normalise_scan(raw) == GOOD_ID
    assert parse_lot_id(raw).text == GOOD_ID


@pytest.mark.parametrize("clean", [GOOD_ID, "32050020260001", "A1", "HW-B2", "-", "0"])
def test_a_clean_scan_takes_the_short_way_and_comes_out_the_same(clean: str) -> None:
    from labels.ids import _normalise

    assert normalise_scan(clean) is clean  # returned as it is, no pass over the characters
    assert _normalise(clean) == clean  # which is what the long way gives
