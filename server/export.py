"""The visits workbook, written with openpyxl (the layout is ``shared.leads``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from shared.leads import DATETIME_FORMAT, HEADER_FILL, HEADER_FONT_COLOR, Sheet


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file of these sheets."""
    wb = Workbook()
    wb.remove(wb.active)
    header_font = Font(bold=True, color=HEADER_FONT_COLOR)
    header_fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        ws.append(list(sheet.header))
        for row in sheet.rows:
            ws.append(list(row))
        for cell in ws[1]:
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center")
        for col in sheet.datetime_columns:
            for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
                cell.number_format = DATETIME_FORMAT
        if sheet.total_row and sheet.rows:
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
        for i, width in enumerate(sheet.widths):
            ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = width
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
