"""The one base of every API schema, and the shared field types."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from app.domain.values import FIRST_YEAR, LAST_YEAR


def _within_calendar(value: datetime) -> datetime:
    """An instant the database can hold: 0001-01-01 at +14:00 has no UTC time, and nothing a
    plant records lies outside these centuries."""
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PydanticCustomError(
            "out_of_calendar",
            "must lie between the years {first} and {last}",
            {"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return value


# An aware datetime (with its offset) within the calendar the database holds.
Instant = Annotated[AwareDatetime, AfterValidator(_within_calendar)]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, str_strip_whitespace=True, extra="forbid")
