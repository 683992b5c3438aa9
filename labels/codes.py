"""QR and Code 128 encoding: PNG/SVG outputs and module data for vector drawing in PDFs.

The payload is always exactly the text given (the bare ID), so any scanner reads the same string
from the QR and the barcode.
"""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.image.svg
from barcode import Code128
from barcode.writer import SVGWriter
from qrcode.constants import ERROR_CORRECT_M, ERROR_CORRECT_Q

__all__ = [
    "QR_ERROR_CORRECTION",
    "code128_modules",
    "code128_path_code",
    "code128_svg",
    "qr_matrix",
    "qr_path_code",
    "qr_png",
    "qr_svg",
    "runs_of_dark",
]

#: Error correction level M (15 %): the label is laminated and flat, M keeps the code at
#: version 2 (25 x 25) for a 37-character alphanumeric payload, i.e. large modules.
QR_ERROR_CORRECTION = ERROR_CORRECT_M
_LEVELS = {"M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q}


def _qr(data: str, level: str, border: int, box_size: int = 10) -> qrcode.QRCode:
    q = qrcode.QRCode(error_correction=_LEVELS[level], border=border, box_size=box_size)
    q.add_data(data)
    q.make(fit=True)
    return q


@lru_cache(maxsize=4096)
def qr_matrix(data: str, level: str = "M") -> tuple[tuple[bool, ...], ...]:
    """The QR module matrix (True = dark), without quiet zone.  Cached."""
    q = _qr(data, level, border=0)
    return tuple(tuple(bool(v) for v in row) for row in q.modules)


def qr_png(data: str, box_size: int = 10, level: str = "M") -> bytes:
    """QR code as PNG bytes (4-module quiet zone)."""
    img = _qr(data, level, border=4, box_size=box_size).make_image()
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


def qr_svg(data: str, level: str = "M") -> str:
    """QR code as a standalone SVG document (one path)."""
    img = _qr(data, level, border=4).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return img.to_string(encoding="unicode")


def code128_svg(data: str) -> str:
    """Code 128 barcode of ``data`` as an SVG document, human-readable text below."""
    buf = io.BytesIO()
    Code128(data, writer=SVGWriter()).write(buf, options={"module_height": 10.0})
    return buf.getvalue().decode("utf-8")


@lru_cache(maxsize=4096)
def code128_modules(data: str) -> str:
    """Code 128 module string ('1' = bar), including start, check and stop, without quiet zone.

    python-barcode picks code sets (C for digit runs) to keep the symbol short.
    """
    return Code128(data).build()[0]


@lru_cache(maxsize=4096)
def qr_path_code(data: str, level: str = "M") -> tuple[int, str]:
    """(module count, PDF path operators) for the dark modules in module units.

    Row ``r`` spans y = -(r + 1) .. -r (origin at the top-left corner, y up), so the caller
    only translates to the top-left corner and scales by the module size.  Each horizontal run
    is one ``re``; rows overlap by 0.02 module to avoid hairline seams when rasterised.
    """
    m = qr_matrix(data, level)
    parts: list[str] = []
    for r, row in enumerate(m):
        y = -(r + 1)
        for start, length in runs_of_dark(row):
            parts.append(f"{start} {y - 0.02:.2f} {length} 1.02 re")
    return len(m), " ".join(parts)


@lru_cache(maxsize=4096)
def code128_path_code(data: str) -> tuple[int, str]:
    """(module count, PDF path operators) for the bars in module units, height 1."""
    bars = code128_modules(data)
    return len(bars), " ".join(f"{s} 0 {n} 1 re" for s, n in runs_of_dark(bars))


def runs_of_dark(row: str | tuple[bool, ...]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, v in enumerate(row):
        dark = v == "1" if isinstance(v, str) else bool(v)
        if dark and start < 0:
            start = i
        elif not dark and start >= 0:
            runs.append((start, i - start))
            start = -1
    if start >= 0:
        runs.append((start, len(row) - start))
    return runs
