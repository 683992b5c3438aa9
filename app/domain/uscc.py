"""GB 32100-2015 unified social credit code (统一社会信用代码, USCC) validation.

An USCC has 18 characters over the charset ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (31 symbols;
I, O, S, V and Z are excluded).  The 18th character is a check character computed from the
first 17 with the weights ``1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28``:
``check = 31 - (sum(value * weight) mod 31)``, and 31 maps to ``'0'``.

Standard library only.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUE = {ch: i for i, ch in enumerate(CHARSET)}


def _check_char(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Return None if ``code`` is a valid USCC, else a short English reason.

    Only the first problem found is reported (length, then characters, then check).
    """
    if not isinstance(code, str):
        return f"must be a string, got {type(code).__name__}"
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    for pos, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            return f"character {pos} {ch!r} is not allowed"
    expected = _check_char(code[:17])
    if code[17] != expected:
        return f"check character should be {expected!r}, got {code[17]!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is a syntactically valid USCC with a correct check character."""
    return uscc_problem(code) is None


def uscc_with_check(first17: str) -> str:
    """Append the GB 32100 check character to the 17-character ``first17``."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"need {LENGTH - 1} characters, got {len(first17)}")
    for pos, ch in enumerate(first17, start=1):
        if ch not in _VALUE:
            raise ValueError(f"character {pos} {ch!r} is not allowed")
    return first17 + _check_char(first17)
