"""Measure the code's shape: lines per package, long modules and views, hand-set cache
headers, and the places where the vocabulary (status words, states) is spelled.

    python bench/code_shape.py

No timing here: figures for closing notes about structure, reproducible by anyone.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

#: decorators that make a function a view
VIEW_DECORATORS = re.compile(r"\.(route|get|post|put|delete|patch)$")
#: the question statuses and episode states, as people read them
VOCABULARY = re.compile(
    r"\b(nouvelles?|retenues?|r[ée]pondues?|[ée]cart[ée]es?|[àa] venir|en cours|termin[ée]s?)\b",
    re.IGNORECASE,
)


def python_files() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "__pycache__" not in p.parts)


def lines_per_package() -> dict[str, tuple[int, int]]:
    packages: dict[str, list[int]] = defaultdict(list)
    for path in python_files():
        relative = path.relative_to(ROOT)
        package = str(relative.parent) if relative.parent != Path("app") else "app (top)"
        packages[package].append(len(path.read_text().splitlines()))
    return {name: (len(sizes), sum(sizes)) for name, sizes in sorted(packages.items())}


def decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return ast.unparse(target)


def views() -> list[tuple[int, str]]:
    found = []
    for path in python_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            if any(VIEW_DECORATORS.search(decorator_name(d)) for d in node.decorator_list):
                start = node.lineno
                length = node.end_lineno - start + 1  # type: ignore[operator]
                found.append((length, f"{path.relative_to(ROOT)}:{node.name}"))
    return sorted(found, reverse=True)


def hand_set_cache_headers() -> list[str]:
    hits = []
    for path in python_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(r"headers\[\"Cache-Control\"\]\s*=", line):
                hits.append(f"{path.relative_to(ROOT)}:{number}")
    return hits


def vocabulary_places() -> dict[str, int]:
    """Files (code and templates) that spell a status or state word, with the count."""
    places: dict[str, int] = {}
    candidates = python_files() + sorted((APP / "templates").rglob("*.html"))
    candidates += sorted((APP / "templates").rglob("*.txt"))
    for path in candidates:
        text = path.read_text()
        # Prose is allowed to say "nouvelle question"; we count words in quotes or labels.
        words = VOCABULARY.pattern[3:-3]
        count = len(re.findall(rf"[\"'>](?:{words})[\"'<]", text, re.IGNORECASE))
        if count:
            places[str(path.relative_to(ROOT))] = count
    return places


def main() -> None:
    print("Modules and lines per package")
    for name, (modules, lines) in lines_per_package().items():
        print(f"  {name:<28} {modules:>3} modules {lines:>6} lines")
    print("Modules over 300 lines")
    for path in python_files():
        size = len(path.read_text().splitlines())
        if size > 300:
            reason = "reason given" if "300 lines" in path.read_text()[:2000] else "no reason"
            print(f"  {path.relative_to(ROOT)}: {size} ({reason})")
    all_views = views()
    print(f"Views: {len(all_views)}, over 25 lines: {sum(1 for n, _ in all_views if n > 25)}")
    for length, name in all_views[:8]:
        print(f"  {length:>3}  {name}")
    headers = hand_set_cache_headers()
    print(f"Hand-set Cache-Control headers: {len(headers)}")
    for hit in headers:
        print(f"  {hit}")
    places = vocabulary_places()
    print(f"Files spelling a status or state word as a label: {len(places)}")
    for name, count in sorted(places.items()):
        print(f"  {name}: {count}")


if __name__ == "__main__":
    main()
