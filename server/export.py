"""Workbooks as bytes and as answers (layout and writer: ``shared.leads``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import openpyxl
import openpyxl.styles
from flask import Response, send_file

from shared.leads import MIMETYPE, Sheet, fill_workbook

#: the OpenAPI answer of an endpoint that answers a workbook
XLSX = {"content": {MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}}


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file of these sheets."""
    out = io.BytesIO()
    fill_workbook(sheets, openpyxl).save(out)
    return out.getvalue()


def xlsx_response(sheets: Sequence[Sheet], filename: str, *, attachment: bool = True) -> Response:
    """The workbook of ``sheets`` as an answer: ``Content-Disposition`` ``attachment``
    (else ``inline``) with ``filename``, also in ``X-Filename``; never cached."""
    response = send_file(
        io.BytesIO(workbook_bytes(sheets)),
        mimetype=MIMETYPE,
        as_attachment=attachment,
        download_name=filename,
        max_age=0,
        etag=False,
        conditional=False,
    )
    response.headers["X-Filename"] = filename
    response.headers["Access-Control-Expose-Headers"] = "Content-Disposition, X-Filename"
    response.headers["Cache-Control"] = "no-store"
    return response
