"""Reading a page as an English reader would: its visible text and spoken attributes, with
what is marked French (`lang="fr"`: content without an English version, the switch to
French) set aside, and a check that no French is left in it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: attributes people read or hear
SPOKEN = ("aria-label", "title", "alt", "placeholder")
#: elements that hold no reading text
SILENT = {"script", "style", "template"}
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
#: words only French uses (English never writes them on its own)
FRENCH_WORDS = {
    "le", "les", "des", "du", "une", "au", "aux", "et", "est", "sont", "vous", "votre", "vos",
    "nous", "notre", "pour", "avec", "dans", "sur", "pas", "ne", "cette", "ces", "qui", "que",
    "mon", "ma", "mes", "je", "il", "elle", "leur", "été", "être", "à", "où", "déjà", "très",
    "inscription", "inscrire", "épisode", "épisodes", "envoyer", "question", "questions",
}  # fmt: skip
#: "question" is English too: only a French neighbour makes it French (see below)
SHARED_WORDS = {"question", "questions"}
#: proper names and product names, written the same in both languages
NAMES = re.compile(
    r"Aurélien|Cap Collectif|Thibaut Dernoncourt|Français|Orléans|Métropole|Corrèze|département"
)
WORD = re.compile(r"[^\W\d_]+(?:[’'][^\W\d_]+)?")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, set aside)
        self.parts: list[str] = []

    def _aside(self) -> bool:
        return any(aside for _, aside in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        aside = values.get("lang") == "fr" or tag in SILENT or values.get("hidden") is not None
        if not (aside or self._aside()):
            self.parts += [values[name] or "" for name in SPOKEN if name in values]
            if tag == "input" and values.get("type") in ("submit", "button"):
                self.parts.append(values.get("value") or "")
        if tag not in VOID:
            self.stack.append((tag, aside))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._aside():
            self.parts.append(data)


def english_reading(html: str) -> str:
    """The text an English reader meets in a page (French-marked parts set aside)."""
    reader = _Reader()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


def french_left(text: str) -> list[str]:
    """Stretches of `text` that read as French (a French-only word, or an accented one)."""
    found = []
    for sentence in re.split(r"(?<=[.!?:;·|])\s+|\s{2,}", NAMES.sub("", text)):
        words = [word.lower() for word in WORD.findall(sentence)]
        french = [
            word
            for word in words
            if (word in FRENCH_WORDS and word not in SHARED_WORDS)
            or re.search(r"[éèêàùçôîœ]", word)
            or word.startswith(("l’", "d’", "l'", "d'", "qu’", "n’", "s’"))
        ]
        if french:
            found.append(f"{sentence.strip()[:120]}  ← {', '.join(french[:5])}")
    return found
