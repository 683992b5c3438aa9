"""HJ 1259-2022 §6 ledger (管理台账) writers: XLSX (openpyxl write-only: rows go straight to
the file, memory stays flat) and CSV (a generator of lines). Pure: sheets of rows in, bytes
out. The batch codes follow the suggested pattern (Appendix B): prefix + YYYYMMDD + serial.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

# sheet key, title, batch prefix(es), headers (HJ 1259 6.3.1 - 6.3.5)
GENERATION = (
    "generation",
    "产生环节(HWCS)",
    [
        "产生批次编码",
        "产生时间",
        "危险废物名称(单位内部名称)",
        "危险废物类别",
        "危险废物代码",
        "产生量",
        "计量单位",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "产生危险废物设施编码",
        "产生部门经办人",
        "去向",
    ],
)
STORAGE_IN = (
    "storage_in",
    "入库环节(HWRK)",
    [
        "入库批次编码",
        "入库时间",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "危险废物名称",
        "危险废物类别",
        "危险废物代码",
        "入库量",
        "计量单位",
        "贮存设施编码",
        "贮存设施类型",
        "运送部门经办人",
        "贮存部门经办人",
        "产生批次编码",
    ],
)
STORAGE_OUT = (
    "storage_out",
    "出库环节(HWCK)",
    [
        "出库批次编码",
        "出库时间",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "危险废物名称",
        "危险废物类别",
        "危险废物代码",
        "出库量",
        "计量单位",
        "贮存设施编码",
        "贮存设施类型",
        "出库部门经办人",
        "运送部门经办人",
        "入库批次编码",
        "去向",
    ],
)
OWN = (
    "own",
    "自行利用处置(HWZXLY-HWZXCZ)",
    [
        "利用/处置批次编码",
        "利用/处置时间",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "危险废物名称",
        "危险废物类别",
        "危险废物代码",
        "利用/处置量",
        "计量单位",
        "利用/处置设施编码",
        "利用/处置方式",
        "利用/处置完毕时间",
        "经办人",
        "产生批次编码/出库批次编码",
    ],
)
OFFSITE = (
    "offsite",
    "委外利用处置(HWWWLY-HWWWCZ)",
    [
        "委外利用/处置批次编码",
        "出厂时间",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "危险废物名称",
        "危险废物类别",
        "危险废物代码",
        "委外利用/处置量",
        "计量单位",
        "利用/处置方式",
        "接收单位类型",
        "利用/处置单位名称",
        "许可证编码/出口核准通知单编号",
        "产生批次编码",
        "出库批次编码",
        "转移联单编号",
        "接受结果",
        "利用/处置完毕时间",
    ],
)
SHEETS = (GENERATION, STORAGE_IN, STORAGE_OUT, OWN, OFFSITE)


@dataclass
class Sheet:
    key: str
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]


def batch_code(prefix: str, yyyymmdd: str, serial: int) -> str:
    """`HWCS20211031001`: 3-digit serial, wider when a day has more than 999 records."""
    return f"{prefix}{yyyymmdd}{serial:03d}"


def _cell(value: Any) -> Any:
    """A value as a cell may hold it. Control characters (refused at the door since 2026-11-22,
    but a record from before may carry one) would make openpyxl refuse the whole workbook:
    each shows as U+FFFD instead; the log export keeps the exact text."""
    if type(value) is str and not value.isprintable() and ILLEGAL_CHARACTERS_RE.search(value):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def write_xlsx(sheets: Iterable[Sheet], path: Path, title: str = "危险废物管理台账") -> int:
    """Write every sheet into `path` (write-only workbook). Returns the number of rows."""
    wb = Workbook(write_only=True)
    wb.properties.title = title
    wb.properties.creator = "hazchain"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFE0B2")
    n = 0
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title[:31])
        ws.freeze_panes = "A2"
        header = []
        for h in sheet.headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            cell.fill = fill
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_cell(v) for v in row])
            n += 1
    wb.save(path)
    return n


def csv_lines(sheets: Iterable[Sheet]) -> Iterator[str]:
    """One CSV (UTF-8 with BOM for Excel): a `环节` column names the sheet of each row; each
    sheet starts with its own header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    yield "\ufeff"
    for sheet in sheets:
        w.writerow(["环节", *sheet.headers])
        for row in sheet.rows:
            w.writerow([sheet.title, *("" if v is None else v for v in row)])
            if buf.tell() > 64 * 1024:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
