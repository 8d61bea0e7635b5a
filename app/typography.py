"""French typography on screen: no line may start with a lone "?", ":" or "»"."""

from __future__ import annotations

import re

NBSP = "\u00a0"
NNBSP = "\u202f"

_BEFORE_HIGH = re.compile(r"[ \t]+([?!;»])")
_BEFORE_COLON = re.compile(r"[ \t]+(:)(?=\s|$)")
_AFTER_GUILLEMET = re.compile(r"(«)[ \t]+")


def french_spacing(text: str | None) -> str:
    """Glue the space before ? ! ; » (narrow) and : (regular width) to the word before."""
    if not text:
        return ""
    text = _BEFORE_HIGH.sub(NNBSP + r"\1", text)
    text = _BEFORE_COLON.sub(NBSP + r"\1", text)
    return _AFTER_GUILLEMET.sub(r"\1" + NNBSP, text)
