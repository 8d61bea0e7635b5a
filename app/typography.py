"""French typography on screen: no line may start with a lone "?", ":" or "»". English text
is left as it is (English puts no space there)."""

from __future__ import annotations

import re

from .language import current_language

NBSP = "\u00a0"
NNBSP = "\u202f"

_BEFORE_HIGH = re.compile(r"[ \t]+([?!;»])")
_BEFORE_COLON = re.compile(r"[ \t]+(:)(?=\s|$)")
_AFTER_GUILLEMET = re.compile(r"(«)[ \t]+")


def french_spacing(text: str | None) -> str:
    """Glue the space before ? ! ; » (narrow) and : (regular width) to the word before, in
    French text: a content text knows its language (`language.Text`), any other is in the
    language being written."""
    if not text:
        return ""
    if (getattr(text, "lang", None) or current_language()) != "fr":
        return text
    text = _BEFORE_HIGH.sub(NNBSP + r"\1", text)
    text = _BEFORE_COLON.sub(NBSP + r"\1", text)
    return _AFTER_GUILLEMET.sub(r"\1" + NNBSP, text)
