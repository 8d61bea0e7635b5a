"""Integers from URLs and query strings, bounded to what the database can hold."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

#: PostgreSQL's INTEGER, and far beyond any id here
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that answers 404 past MAX_ID instead of an overflow (500) in the driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def db_int(value: str) -> int:
    """`type=` for request.args/form: an int the database can hold, else ValueError (default)."""
    number = int(value)
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError(value)
    return number
