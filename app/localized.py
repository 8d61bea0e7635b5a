"""Content in the language of the page: the programme's texts with their English (from the
content file) or, where there is none, the French marked as such; what the facilitator wrote
(French); and the filters that show them (`content`, `marked`, `clip`)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from .language import DEFAULT, current_language


class Text(str):
    """A content text with the language it is written in."""

    lang: str

    def __new__(cls, value: str, lang: str) -> Text:
        text = super().__new__(cls, value)
        text.lang = lang
        return text


def localized(source: Any, field: str) -> Any:
    """`source.field` in the current language: its English from the content file when the
    page is English and one exists, else the French (marked so). Lists come back as lists
    of `Text`."""
    french = getattr(source, field)
    language = current_language()
    if language != DEFAULT:
        other = (getattr(source, "english", None) or {}).get(field)
        if other:
            french, lang = other, language
        else:
            lang = DEFAULT
    else:
        lang = DEFAULT
    if isinstance(french, list):
        return [Text(item, lang) for item in french]
    return Text(french or "", lang)


def speaker_role(speaker: dict[str, Any]) -> Text:
    """A speaker's role in the current language (the French where it has no English)."""
    language = current_language()
    other = speaker.get(f"role_{language}") if language != DEFAULT else None
    return Text(other, language) if other else Text(speaker.get("role", ""), DEFAULT)


def clip(text: Any, length: int) -> Any:
    """`text` cut to `length` characters at a word, with "…", keeping its language."""
    if len(text) <= length:
        return text
    cut = text[: length - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return Text(cut, text.lang) if isinstance(text, Text) else cut


def content(text: Any) -> Markup:
    """A content text for a page's body: French spacing if it is French, and marked
    `<span lang="fr">` where the page is in another language (screen readers switch voice)."""
    from .typography import french_spacing

    lang = getattr(text, "lang", None) or current_language()
    return marked(Text(french_spacing(text), lang) if lang == "fr" else text)


def marked(text: Any) -> Markup:
    """A text escaped, and marked `<span lang="…">` where it is not in the page's language."""
    lang = getattr(text, "lang", None) or current_language()
    if lang != current_language():
        return Markup('<span lang="{}">{}</span>').format(lang, text)
    return escape(text)


def in_french(text: str | None) -> Text:
    """A text the facilitator wrote (a cancellation's reason, a written answer): French."""
    return Text(text or "", DEFAULT)
