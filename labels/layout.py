"""HJ 1276-2022 label sizes by container volume (one table, used by the renderer)."""

from __future__ import annotations

from dataclasses import dataclass

MM = 72.0 / 25.4  # points per millimetre


@dataclass(frozen=True)
class LabelSize:
    """Minimum label size and text height for a container-volume band."""

    max_litres: float  # upper bound of the band (inclusive); inf for the last band
    side_mm: float  # square label side
    min_text_mm: float  # minimum character height
    copies: int  # labels per container (two opposite sides above 450 L)

    @property
    def side_pt(self) -> float:
        return self.side_mm * MM

    @property
    def min_text_pt(self) -> float:
        return self.min_text_mm * MM


#: HJ 1276 §4.4: <= 50 L -> 100 mm / 3 mm; <= 450 L -> 150 mm / 5 mm; > 450 L -> 200 mm / 6 mm,
#: two labels on opposite sides.
SIZE_TABLE: tuple[LabelSize, ...] = (
    LabelSize(50.0, 100.0, 3.0, 1),
    LabelSize(450.0, 150.0, 5.0, 1),
    LabelSize(float("inf"), 200.0, 6.0, 2),
)

BORDER_MARGIN_MM = 3.0  # blank margin outside the border
BORDER_WIDTH_MM = 1.0  # border line width


def size_for_volume(litres: float) -> LabelSize:
    """The label size band for a container of ``litres``."""
    if litres <= 0:
        raise ValueError("container volume must be positive")
    for row in SIZE_TABLE:
        if litres <= row.max_litres:
            return row
    raise AssertionError("unreachable")  # pragma: no cover
