"""Booth leads offline: the visits workbook, in the server's layout (``shared.leads``).

The kiosk holds one event; its workbook is the server's ``export_excel`` for
that event: the ``Résumé Global`` sheet and the event's sheet, same headers,
same cells, written by the same function (``shared.leads.fill_workbook``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
import openpyxl.styles

from kiosk.store import KioskStore, StoreError
from shared.leads import EventRef, Sheet, Visit, build_workbook, fill_workbook
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
    """Write these sheets to an .xlsx file, with the server's writer (``shared.leads``)."""
    fill_workbook(sheets, openpyxl).save(path)


def export_leads(store: KioskStore, path: str | Path) -> int:
    """Write the store's leads to ``path``; the number of visits written."""
    sheets = kiosk_sheets(store)
    write_workbook(sheets, path)
    return sum(len(s.rows) for s in sheets[1:])
