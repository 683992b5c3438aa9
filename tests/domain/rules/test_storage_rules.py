"""Storage-in rules (GB 18597, GB 18599, 固废法 Art. 81): one table per rule, with passing,
failing and edge cases (exactly at a threshold), and the expected citation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.domain.rules.base import Severity
from app.domain.values import ContainerCondition, WasteKind
from tests.domain.rules.support import facility, findings_of, lot, mix, situation, zone

ACID = lot()
ALKALI = lot(category="HW35", waste_code="900-399-35", name="废碱")
LIQUID_ACID = lot(physical_form="liquid", headspace_mm=Decimal(120))


def verdict(rule: str, **kw: Any) -> list[Severity]:
    return [f.severity for f in findings_of(situation(**kw), rule)]


def citation(rule: str, **kw: Any) -> dict[str, str]:
    return findings_of(situation(**kw), rule)[0].citation


class TestR09Labelled:
    def test_unlabelled_hazardous_lot_is_refused(self) -> None:
        assert verdict("R09", the_lot=lot(labelled_at=None), zone=zone()) == [Severity.block]
        assert (
            citation("R09", the_lot=lot(labelled_at=None), zone=zone())["clause"]
            == "Art. 77; GB 18597 4.6"
        )

    def test_labelled_and_general_lots_pass(self) -> None:
        assert verdict("R09", the_lot=ACID, zone=zone()) == []
        gis = lot(kind=WasteKind.general, category="SW59", waste_code=None, labelled_at=None)
        assert verdict("R09", the_lot=gis, zone=zone("general", "gis_indoor")) == []


class TestR16LabelCheck:
    def test_scanned_label_must_be_this_lots(self) -> None:
        assert verdict("R16", zone=zone(), scanned_code="X" * 37) == []
        assert verdict("R16", zone=zone(), scanned_code="Y" * 37) == [Severity.block]

    def test_unknown_characteristics_are_refused(self) -> None:
        assert verdict("R16", the_lot=lot(hazard_characteristics=()), zone=zone()) == [
            Severity.block
        ]


class TestR17Incompatibility:
    @pytest.mark.parametrize(
        ("the_lot", "present", "blocked"),
        [
            (ACID, [mix("HW35", "C,T")], True),  # acid into alkali
            (ALKALI, [mix("HW34", "C,T")], True),  # and the other way round
            (
                lot(category="HW33", waste_code="900-027-33", hazard_characteristics=("T", "R")),
                [mix("HW34", "C,T")],
                True,
            ),  # cyanide with acid (and R isolated)
            (ACID, [mix("HW34", "C,T", count=5)], False),  # acids together
            (ACID, [mix("HW49", "T")], False),
            (
                lot(category="HW06", waste_code="900-402-06", hazard_characteristics=("T", "R")),
                [mix("HW49", "T")],
                True,
            ),  # a reactive lot keeps its own zone
            (ACID, [mix("HW06", "T,R")], True),  # nor joins one holding reactive waste
            (
                lot(category="HW06", waste_code="900-402-06", hazard_characteristics=("T", "I")),
                [mix("HW49", "T", properties="oxidiser")],
                True,
            ),  # ignitable with oxidiser
            (ACID, [], False),  # empty zone
        ],
    )
    def test_matrix(self, the_lot: Any, present: list[Any], blocked: bool) -> None:
        found = findings_of(situation(the_lot=the_lot, zone=zone(), contents=present), "R17")
        assert bool(found) is blocked
        if blocked:
            assert found[0].citation == {
                "document": "固废法 (2020)",
                "clause": "Art. 81 ¶1; GB 18597 4.3, 6.1.2",
                "confidence": "3P",
            }
            assert found[0].severity is Severity.block

    def test_message_names_the_zone_content_and_the_hazard(self) -> None:
        f = findings_of(
            situation(the_lot=ACID, zone=zone(), contents=[mix("HW35", "C", count=3)]), "R17"
        )[0]
        assert "HW35" in f.message_zh and "剧烈中和放热" in f.message_zh
        assert f.values["pair"] == ["acid", "alkali"]


class TestR18ZoneSign:
    def test_only_what_the_sign_allows(self) -> None:
        assert verdict("R18", zone=zone(allowed_categories=("HW34",))) == []
        assert verdict("R18", zone=zone(allowed_codes=("900-349-34",))) == []
        assert verdict("R18", zone=zone(allowed_categories=("HW35",))) == [Severity.warn]
        assert verdict("R18", zone=zone()) == []  # no sign restrictions set


class TestR19GeneralWasteStorage:
    def test_hazardous_into_general_zone_is_refused(self) -> None:
        assert verdict("R19", zone=zone("general", "gis_class_ii_yard")) == [Severity.block]

    def test_general_into_hazardous_zone_warns(self) -> None:
        gis = lot(kind=WasteKind.general, category="SW59", waste_code=None)
        assert verdict("R19", the_lot=gis, zone=zone()) == [Severity.warn]


class TestR20Containment:
    @pytest.mark.parametrize(
        ("containment", "present", "largest", "blocked"),
        [
            (None, [], "0", True),  # no containment recorded
            ("199.999", [], "0", True),  # below the only (200 L) container
            ("200", [], "0", False),  # exactly the largest container
            ("1000", [], "1000", False),  # an IBC already there: 1000 L needed
            ("999", [], "1000", True),
            # 11,000 L of liquids: 1/10 = 1,100 L beats the 1000 L largest container
            ("1100", [mix("HW34", "C,T", form="liquid", count=54, litres="10800")], "1000", False),
            ("1099", [mix("HW34", "C,T", form="liquid", count=54, litres="10800")], "1000", True),
        ],
    )
    def test_larger_of_largest_container_and_a_tenth(
        self, containment: str | None, present: list[Any], largest: str, blocked: bool
    ) -> None:
        z = zone(containment_l=Decimal(containment) if containment else None)
        found = findings_of(
            situation(the_lot=LIQUID_ACID, zone=z, contents=present, max_liquid=largest), "R20"
        )
        assert bool(found) is blocked
        if blocked:
            assert found[0].citation["clause"] == "6.2.2"

    def test_solids_need_no_containment(self) -> None:
        assert verdict("R20", zone=zone()) == []


class TestR22AntiSeepage:
    def test_audit_properties(self) -> None:
        ok = zone(facility_type=None)
        ok = ok.__class__(**{**ok.__dict__, "facility": facility(surface_antiseepage=True)})
        assert verdict("R22", zone=ok) == []
        bare = zone()
        assert verdict("R22", zone=bare) == [Severity.warn]
        ground = bare.__class__(
            **{
                **bare.__dict__,
                "facility": facility(
                    surface_antiseepage=True,
                    direct_ground_contact=True,
                    base_liner="hdpe",
                    liner_thickness_mm=Decimal("1.5"),
                    liner_permeability_cm_s=1e-10,
                ),
            }
        )
        assert verdict("R22", zone=ground) == [Severity.warn]  # HDPE thinner than 2 mm
        good = ground.__class__(
            **{
                **ground.__dict__,
                "facility": facility(
                    surface_antiseepage=True,
                    direct_ground_contact=True,
                    base_liner="hdpe",
                    liner_thickness_mm=Decimal(2),
                    liner_permeability_cm_s=1e-10,
                ),
            }
        )
        assert verdict("R22", zone=good) == []


class TestR23Material:
    @pytest.mark.parametrize(
        ("the_lot", "material", "blocked"),
        [
            (ACID, "steel", True),
            (ACID, "HDPE", False),
            (ALKALI, "aluminum", True),
            (lot(category="HW32", waste_code="900-026-32"), "glass", True),
            (lot(category="HW49", waste_code="900-041-49"), "steel", False),
        ],
    )
    def test_table(self, the_lot: Any, material: str, blocked: bool) -> None:
        from app.domain.values import Container

        the_lot = the_lot.__class__(
            **{
                **{f: getattr(the_lot, f) for f in the_lot.__slots__},
                "container": Container(type="drum", volume_l=Decimal(200), material=material),
            }
        )
        assert bool(findings_of(situation(the_lot=the_lot, zone=zone()), "R23")) is blocked


class TestR24Headspace:
    @pytest.mark.parametrize(("mm", "warned"), [(None, True), ("99.9", True), ("100", False)])
    def test_liquids_keep_100mm(self, mm: str | None, warned: bool) -> None:
        the_lot = lot(physical_form="liquid", headspace_mm=Decimal(mm) if mm else None)
        assert (
            bool(
                findings_of(
                    situation(the_lot=the_lot, zone=zone(containment_l=Decimal(999))), "R24"
                )
            )
            is warned
        )


class TestR25Condition:
    @pytest.mark.parametrize("condition", ["damaged", "leaking", "deformed"])
    def test_damaged_containers_are_refused(self, condition: str) -> None:
        assert verdict(
            "R25", the_lot=lot(condition=ContainerCondition(condition)), zone=zone()
        ) == [Severity.block]

    def test_intact_passes(self) -> None:
        assert verdict("R25", zone=zone()) == []


class TestR26Containerised:
    def test_loose_liquid_only_in_pools_and_tanks(self) -> None:
        loose = lot(physical_form="liquid", container={"type": "bulk", "volume_l": "0"})
        assert verdict("R26", the_lot=loose, zone=zone()) == [Severity.block]
        assert verdict("R26", the_lot=loose, zone=zone(facility_type="storage_pool")) == []

    def test_loose_solids_only_in_warehouses_and_yards(self) -> None:
        loose = lot(container={"type": "bulk", "volume_l": "0"})
        assert verdict("R26", the_lot=loose, zone=zone()) == []
        assert verdict("R26", the_lot=loose, zone=zone(facility_type="tank_farm")) == [
            Severity.block
        ]


class TestR27GasCollection:
    def test_voc_prone_waste_wants_gas_collection(self) -> None:
        solvent = lot(category="HW06", waste_code="900-402-06", hazard_characteristics=("T", "I"))
        assert verdict("R27", the_lot=solvent, zone=zone()) == [Severity.warn]
        assert verdict("R27", the_lot=solvent, zone=zone(gas_collection=True)) == []
        assert verdict("R27", zone=zone()) == []  # acids are not on the list


class TestStorageSpot:
    def test_r28_containers_only(self) -> None:
        loose = lot(container={"type": "bulk", "volume_l": "0"})
        assert verdict("R28", the_lot=loose, zone=zone(facility_type="storage_spot")) == [
            Severity.block
        ]

    @pytest.mark.parametrize(("held", "blocked"), [("2820", False), ("2821", True)])
    def test_r29_three_tonnes_exactly(self, held: str, blocked: bool) -> None:
        # 2820 kg held + 180 kg = 3000 kg exactly: allowed; one more kilogram is not.
        found = findings_of(
            situation(
                zone=zone(facility_type="storage_spot"), contents=[mix("HW34", "C,T", kg=held)]
            ),
            "R29",
        )
        assert bool(found) is blocked
        if blocked:
            assert found[0].citation == {
                "document": "GB 18597-2023",
                "clause": "8.3.5",
                "confidence": "3P",
            }
            assert found[0].values["total_kg"] == "3001"


class TestR30Unstable:
    def test_unstable_needs_stabilising_or_a_rated_zone(self) -> None:
        u = lot(properties=("unstable",))
        assert verdict("R30", the_lot=u, zone=zone()) == [Severity.block]
        assert verdict("R30", the_lot=u, zone=zone(explosion_rated=True)) == []
        assert verdict("R30", the_lot=lot(properties=("stabilised", "unstable")), zone=zone()) == []


class TestR63GeneralWasteYards:
    def gis(self, **kw: Any) -> Any:
        return lot(
            kind=WasteKind.general,
            category="SW59",
            waste_code=None,
            hazard_characteristics=(),
            **kw,
        )

    @pytest.mark.parametrize(
        ("yard", "cls", "organic", "salts", "blocked"),
        [
            ("gis_class_i_yard", "I", "1.99", "1.99", False),
            ("gis_class_i_yard", "I", "2", "1", True),  # at the limit is not below it
            ("gis_class_i_yard", "II", "1", "1", True),  # type II never enters a class I yard
            ("gis_class_ii_yard", "II", "4.9", "4.9", False),
            ("gis_class_ii_yard", "II", "4.9", "5", True),
            ("gis_class_ii_yard", "II", None, "1", True),  # not measured
        ],
    )
    def test_yards(
        self, yard: str, cls: str, organic: str | None, salts: str, blocked: bool
    ) -> None:
        from app.domain.values import GeneralClass

        the_lot = self.gis(
            general_class=GeneralClass(cls),
            organic_matter_pct=Decimal(organic) if organic else None,
            soluble_salts_pct=Decimal(salts),
        )
        found = findings_of(situation(the_lot=the_lot, zone=zone("general", yard)), "R63")
        assert bool(found) is blocked
        if blocked:
            assert found[0].citation["document"] == "GB 18599-2020"


class TestH01Capacity:
    def test_over_capacity_warns(self) -> None:
        z = zone(capacity_kg=Decimal(1000))
        assert verdict("H01", zone=z, contents=[mix("HW34", kg="820")]) == []  # 1000 exactly
        assert verdict("H01", zone=z, contents=[mix("HW34", kg="821")]) == [Severity.warn]
