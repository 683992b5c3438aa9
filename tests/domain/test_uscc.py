import pytest

from app.domain.uscc import is_valid_uscc, uscc_problem, uscc_with_check

GOOD = [
    "91350100M000100Y43",
    uscc_with_check("91320500MA1MXXXXX"[:9] + "0" * 8),
    uscc_with_check("12100000400000000"),
    uscc_with_check("Y1110000MA0000000"),
    uscc_with_check("91440300MA5DABCDE"),
]

BAD = [
    ("91350100M000100Y4", "must be 18 characters, got 17"),
    ("91350100M000100Y433", "must be 18 characters, got 19"),
    ("", "must be 18 characters, got 0"),
    ("91350100M000100Y44", "check character should be '3', got '4'"),
    ("9135I100M000100Y43", "character 5 'I' is not allowed"),
    ("91350100O000100Y43", "character 9 'O' is not allowed"),
    ("91350100m000100Y43", "character 9 'm' is not allowed"),
    ("91350100M000100Y4Z", "character 18 'Z' is not allowed"),
]


@pytest.mark.parametrize("code", GOOD)
def test_good(code: str) -> None:
    assert uscc_problem(code) is None
    assert is_valid_uscc(code)


@pytest.mark.parametrize(("code", "reason"), BAD)
def test_bad(code: str, reason: str) -> None:
    assert uscc_problem(code) == reason
    assert not is_valid_uscc(code)


def test_with_check_round_trip() -> None:
    assert uscc_with_check("91350100M000100Y4") == "91350100M000100Y43"


def test_check_31_maps_to_zero() -> None:
    # find a prefix whose weighted sum is divisible by 31 -> check char '0'
    from app.domain.uscc import CHARSET

    for c in CHARSET:
        code = uscc_with_check("9135010000000000" + c)
        if code[-1] == "0":
            assert is_valid_uscc(code)
            break
    else:
        pytest.fail("no prefix with check char 0 found")


@pytest.mark.parametrize("bad", ["short", "91350100M000100YI"])
def test_with_check_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        uscc_with_check(bad)
