"""Booth leads: the layout of the visits workbook, as plain data (standard library only).

The server's ``GET /api/exposant-scans/export_excel/`` and the kiosk's
``badgegate-kiosk leads export`` both build their workbook from
:func:`build_workbook`; their writers (``server/export.py``, ``kiosk/leads.py``)
only put these sheets into openpyxl. So the two files hold the same sheets,
headers and cells for the same visits.

The workbook (seed: Export Excel Response):

- ``Résumé Global``: one row per event (name, visits, first and last visit),
  then a total row;
- one sheet per event, titled with the event's name: one row per visit
  (date/time, name, email, badge id, notes), oldest first.

A visit is a *granted* booth scan: a refused badge is logged, but it is not a lead.
Times are written in UTC (the column titles say so), to the second, as Excel dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from shared.timefmt import as_utc

SUMMARY_SHEET = "Résumé Global"
SUMMARY_HEADERS = (
    "Événement",
    "Total visites",
    "Première visite (UTC)",
    "Dernière visite (UTC)",
)
TOTAL_LABEL = "TOTAL"
VISIT_HEADERS = ("Date/Heure (UTC)", "Nom", "Email", "Badge ID", "Notes")

#: Excel number format of the date/time cells
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
#: header style: bold white text on dark blue, centered
HEADER_FILL = "1F4E78"
HEADER_FONT_COLOR = "FFFFFF"
#: column widths (characters): fitted to the longest cell, within these bounds
MIN_WIDTH = 10
MAX_WIDTH = 60
#: a datetime cell shows as ``2025-11-29 10:30:00``
DATETIME_CHARS = 19

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: what an .xlsx cell cannot hold (XML 1.0): C0 controls but tab and line breaks,
#: and U+FFFE/U+FFFF; openpyxl refuses the former, Excel the file with the latter
_ILLEGAL_IN_CELL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_SHEET_TITLE = 31  # Excel's limit
_BAD_TITLE_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

Cell = str | int | datetime | None


@dataclass(frozen=True, slots=True)
class EventRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Visit:
    """One booth visit, whichever side it comes from."""

    event_id: str
    scanned_at: datetime
    name: str | None
    email: str | None
    badge_id: str | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    #: indexes of the columns holding datetimes (given :data:`DATETIME_FORMAT`)
    datetime_columns: tuple[int, ...] = ()
    #: the last row is a total (written bold)
    total_row: bool = False
    widths: list[int] = field(default_factory=list)


def excel_time(value: datetime) -> datetime:
    """Naive UTC to the second: Excel has no time zones (openpyxl refuses aware values)."""
    return as_utc(value).replace(tzinfo=None, microsecond=0)


def _blank_none(value: str | None) -> str | None:
    return value if value else None


def visit_row(visit: Visit) -> tuple[Cell, ...]:
    """A visit as a row of its event's sheet (the order of :data:`VISIT_HEADERS`)."""
    return (
        excel_time(visit.scanned_at),
        _blank_none(visit.name),
        _blank_none(visit.email),
        _blank_none(visit.badge_id),
        _blank_none(visit.notes),
    )


def _row_key(row: tuple[Cell, ...]) -> tuple[object, ...]:
    return tuple("" if c is None else c for c in row)


def sheet_titles(names: Sequence[str]) -> list[str]:
    """Valid, distinct sheet titles for these event names (after the summary sheet's).

    Excel forbids ``[]:*?/\\`` in titles, allows 31 characters, and compares
    titles without case; a clash gets `` (2)``, `` (3)``...
    """
    taken = {SUMMARY_SHEET.casefold(), "history"}  # "History" is reserved by Excel
    out: list[str] = []
    for name in names:
        base = " ".join(_BAD_TITLE_CHARS.sub(" ", name).split()).strip("'").strip() or "Événement"
        base = base[:MAX_SHEET_TITLE].strip()
        title, n = base, 1
        while title.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            title = base[: MAX_SHEET_TITLE - len(suffix)].rstrip() + suffix
        taken.add(title.casefold())
        out.append(title)
    return out


def _cell_chars(value: Cell) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return DATETIME_CHARS
    return max((len(line) for line in str(value).splitlines()), default=0)


def column_widths(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> list[int]:
    """Auto-adjusted widths: the longest cell of each column, within bounds, plus margin."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], _cell_chars(value))
    return [min(max(w + 2, MIN_WIDTH), MAX_WIDTH) for w in widths]


def _sheet(
    title: str,
    header: tuple[str, ...],
    rows: list[tuple[Cell, ...]],
    datetime_columns: tuple[int, ...],
    total_row: bool = False,
) -> Sheet:
    return Sheet(title, header, rows, datetime_columns, total_row, column_widths(header, rows))


def build_workbook(events: Sequence[EventRef], visits: Iterable[Visit]) -> list[Sheet]:
    """The sheets, in order: the summary, then one per event of ``events`` (in that order,
    with or without visits). Visits of events not listed are left out."""
    by_event: dict[str, list[tuple[Cell, ...]]] = {e.id: [] for e in events}
    for visit in visits:
        rows = by_event.get(visit.event_id)
        if rows is not None:
            rows.append(visit_row(visit))
    summary: list[tuple[Cell, ...]] = []
    details: list[Sheet] = []
    firsts: list[datetime] = []
    lasts: list[datetime] = []
    for event, title in zip(events, sheet_titles([e.name for e in events]), strict=True):
        rows = sorted(by_event[event.id], key=_row_key)
        times = [r[0] for r in rows if isinstance(r[0], datetime)]
        first, last = (min(times), max(times)) if times else (None, None)
        if first is not None and last is not None:
            firsts.append(first)
            lasts.append(last)
        summary.append((event.name, len(rows), first, last))
        details.append(_sheet(title, VISIT_HEADERS, rows, (0,)))
    total = sum(len(by_event[e.id]) for e in events)
    summary.append((TOTAL_LABEL, total, min(firsts, default=None), max(lasts, default=None)))
    return [_sheet(SUMMARY_SHEET, SUMMARY_HEADERS, summary, (2, 3), total_row=True), *details]


def safe_name_part(text: str, fallback: str) -> str:
    """``text`` as a part of a safe ASCII file name (``fallback`` when nothing is left)."""
    return _SAFE_NAME.sub("_", text).strip("._") or fallback


def export_filename(username: str, now: datetime) -> str:
    """``Statistiques_Visiteurs_{username}_{timestamp}.xlsx`` (a safe ASCII file name)."""
    safe = safe_name_part(username, "exposant")
    return f"Statistiques_Visiteurs_{safe}_{as_utc(now):%Y%m%d_%H%M%S}.xlsx"


def cell_text(value: str) -> str:
    """``value`` as a cell can hold it: the characters no cell may hold are dropped
    (names stored before they were checked at input)."""
    return _ILLEGAL_IN_CELL.sub("", value)


def _put(ws: Any, row: int, values: Sequence[Cell]) -> None:
    """One row; every string is a text cell, whatever it begins with (``=``, ``+``,
    ``-``, ``@``: openpyxl would write ``=...`` as a formula, run when opened)."""
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, str):
            cell.value = cell_text(value)
            cell.data_type = "s"
        else:
            cell.value = value


def fill_workbook(sheets: Sequence[Sheet], xl: ModuleType) -> Any:
    """The workbook of ``sheets``, styled, built with the openpyxl module ``xl``.

    ``shared`` imports the standard library only: the server and the kiosk each
    pass the openpyxl they import, so both write the same file with this one
    function. Returns the ``openpyxl.Workbook`` (the caller saves it).
    """
    styles = xl.styles
    wb = xl.Workbook()
    wb.remove(wb.active)
    header_font = styles.Font(bold=True, color=HEADER_FONT_COLOR)
    header_fill = styles.PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        _put(ws, 1, sheet.header)
        for i, row in enumerate(sheet.rows, start=2):
            _put(ws, i, row)
        for cell in ws[1]:
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = styles.Alignment(horizontal="center", vertical="center")
        for col in sheet.datetime_columns:
            for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
                cell.number_format = DATETIME_FORMAT
        if sheet.total_row and sheet.rows:
            for cell in ws[ws.max_row]:
                cell.font = styles.Font(bold=True)
        for i, width in enumerate(sheet.widths):
            ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = width
        ws.freeze_panes = "A2"
    return wb
