"""Pure label package: HJ 1276 hazardous-waste labels, zone and facility signs.

Nothing here touches a database or the web app: DTOs in (``labels.data``), PDF bytes out
(``labels.render``).  Identifiers live in ``labels.ids``.
"""

from labels.data import AllowedWaste, FacilitySignData, LabelData, ZoneInfo, ZoneSignData
from labels.ids import (
    DigitalId,
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

__all__ = [
    "AllowedWaste",
    "DigitalId",
    "DigitalIdError",
    "FacilitySignData",
    "GeneralWasteId",
    "LabelData",
    "SequenceExhaustedError",
    "ZoneInfo",
    "ZoneSignData",
    "format_digital_id",
    "format_general_waste_id",
    "next_sequence",
    "normalise_scan",
    "parse_digital_id",
    "parse_general_waste_id",
    "parse_lot_id",
]
