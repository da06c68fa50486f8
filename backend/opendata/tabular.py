"""Write rows as CSV (UTF-8 with BOM, so Excel opens Chinese correctly) or as .xlsx."""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Spreadsheet programs run a cell that starts like a formula ("=HYPERLINK(...)", "+cmd|...").
# In CSV the only defence is a leading apostrophe; it is added only where a formula is
# plausible, so that phone numbers ("+86 791 …") and "--" stay as they are.
_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_FORMULA = re.compile(r"^[+\-].*[A-Za-z(|!]")
# Characters XML 1.0 cannot carry; openpyxl refuses them, so they are dropped.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    text = str(value)
    if text.startswith(_FORMULA_START) or _SIGNED_FORMULA.match(text):
        return "'" + text
    return text


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV with a BOM and CRLF line ends, as Excel expects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def clean_text(text: str) -> str:
    """Text without the control characters that XML (xlsx, Atom) cannot hold."""
    return _ILLEGAL_XML.sub("", text)


def xlsx_bytes(
    sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, widths: Sequence[int] = ()
) -> bytes:
    """One sheet: a bold header row, then the rows. Every text cell is stored as text, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=clean_text(value))
                cell.data_type = "s"  # "=…" stays text: nobody's listing runs as a formula
            elif isinstance(value, date) and not isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=float(value))
            else:
                cell = WriteOnlyCell(sheet, value=value)
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
