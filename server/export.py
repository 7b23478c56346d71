"""The visits workbook as bytes (layout and writer: ``shared.leads``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import openpyxl
import openpyxl.styles

from shared.leads import Sheet, fill_workbook


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file of these sheets."""
    out = io.BytesIO()
    fill_workbook(sheets, openpyxl).save(out)
    return out.getvalue()
