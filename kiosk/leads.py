"""Booth leads offline: the visits workbook, in the server's layout (``shared.leads``).

The kiosk holds one event; its workbook is the server's ``export_excel`` for
that event: the ``Résumé Global`` sheet and the event's sheet, same headers,
same cells. Only this openpyxl writer is the kiosk's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from kiosk.store import KioskStore, StoreError
from shared.leads import (
    DATETIME_FORMAT,
    HEADER_FILL,
    HEADER_FONT_COLOR,
    EventRef,
    Sheet,
    Visit,
    build_workbook,
)
from shared.timefmt import parse_iso


def kiosk_sheets(store: KioskStore) -> list[Sheet]:
    """The workbook's sheets for the store's event and its granted visits."""
    event_id = store.get_meta("event_id")
    if not event_id:
        raise StoreError("this kiosk is not provisioned")
    record = store.event(event_id) or {}
    name = record.get("name") or store.get_meta("event_name") or event_id
    visits = []
    for lead in store.leads():
        when = parse_iso(lead["scanned_at"])
        if when is None:  # pragma: no cover - the store writes every time itself
            continue
        visits.append(
            Visit(
                event_id=lead["event_id"],
                scanned_at=when,
                name=lead["name"],
                email=lead["email"],
                badge_id=lead["badge_id"],
                notes=lead["notes"],
            )
        )
    return build_workbook([EventRef(event_id, str(name))], visits)


def write_workbook(sheets: Sequence[Sheet], path: str | Path) -> None:
    """Write these sheets to an .xlsx file (the server's writer does the same)."""
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
    wb.save(path)


def export_leads(store: KioskStore, path: str | Path) -> int:
    """Write the store's leads to ``path``; the number of visits written."""
    sheets = kiosk_sheets(store)
    write_workbook(sheets, path)
    return sum(len(s.rows) for s in sheets[1:])
