"""The ledger workbook writer, without a database: a record from before control characters
were refused at the door still gives a workbook (openpyxl refuses the whole file otherwise)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from reports.ledger import Sheet, write_xlsx


def test_a_control_character_in_an_old_record_shows_as_a_replacement_mark(tmp_path: Path) -> None:
    sheet = Sheet(
        key="generation",
        title="产生环节",
        headers=["名称", "备注", "重量（kg）"],
        rows=[["废\x01活性炭", "桶盖\t完好\n标签清晰", Decimal("12.5")], ["废酸", None, 3]],
    )
    path = tmp_path / "ledger.xlsx"
    assert write_xlsx([sheet], path) == 2
    ws = load_workbook(path)["产生环节"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[1] == ["废\ufffd活性炭", "桶盖\t完好\n标签清晰", 12.5]  # tab, line break kept
    assert rows[2] == ["废酸", None, 3]
