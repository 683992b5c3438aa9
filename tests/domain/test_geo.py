"""Great-circle distances against known figures."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from app.domain.geo import distance_m


@pytest.mark.parametrize(
    ("a", "b", "km", "tolerance_km"),
    [
        (("0", "0"), ("1", "0"), 111.195, 0.001),  # one degree of a meridian (mean radius)
        (("0", "0"), ("0", "1"), 111.195, 0.001),  # one degree of the equator
        (("31.2304", "121.4737"), ("39.9042", "116.4074"), 1067.3, 1.0),  # Shanghai-Beijing
        (("31.2631", "120.7314"), ("31.2631", "120.7314"), 0.0, 0.0),
        (("0", "179.5"), ("0", "-179.5"), 111.195, 0.001),  # across the antimeridian
    ],
)
def test_distance(a: tuple[str, str], b: tuple[str, str], km: float, tolerance_km: float) -> None:
    got = distance_m(D(a[0]), D(a[1]), D(b[0]), D(b[1])) / 1000
    assert abs(got - km) <= tolerance_km, got
