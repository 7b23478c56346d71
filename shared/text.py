"""What a stored string may hold (standard library only).

Python decodes ``"\\ud800"`` in JSON to a lone surrogate, which no database
driver can encode; a control character in a name breaks the visits workbook.
Both sides refuse them at input with these checks.
"""

from __future__ import annotations

import re
from typing import Literal

SURROGATES = "must not contain unpaired surrogates"
CONTROLS = "must not contain control characters"

#: C0 controls and DEL: never in a one-line value (a name, an email, a code)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the same, less tab, line feed and carriage return: a multi-line text (a note)
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_lone_surrogate(value: str) -> bool:
    """True when ``value`` holds a surrogate code point (never valid in UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def text_problem(value: str, *, controls: Literal["allow", "line", "text"] = "allow") -> str | None:
    """What is wrong with ``value``, or None.

    ``controls``: ``"allow"`` any control character (surrogates are still refused),
    ``"line"`` none, ``"text"`` only tab and line breaks.
    """
    if has_lone_surrogate(value):
        return SURROGATES
    if controls == "line" and _CONTROL.search(value):
        return CONTROLS
    if controls == "text" and _CONTROL_IN_TEXT.search(value):
        return CONTROLS
    return None


def is_ascii_digits(value: str) -> bool:
    """``0``-``9`` only: ``str.isdigit`` also takes ``²`` and ``١``, ``int`` takes ``1_0``."""
    return value.isascii() and value.isdigit()
