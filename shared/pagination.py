"""The v1 pagination: count, next, previous, results; page and page_size (spec §0)."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from shared.errors import NotFound

DEFAULT_PAGE_SIZE = 10


def page_size_of(raw: str | None) -> int | None:
    """None means every item on one page (page_size=all)."""
    if raw == "all":
        return None
    try:
        size = int(raw or "")
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size > 0 else DEFAULT_PAGE_SIZE


def paginate(items: Sequence[Any], query: dict[str, str], url: str) -> dict[str, Any]:
    size = page_size_of(query.get("page_size"))
    try:
        page = int(query.get("page") or "1")
    except ValueError:
        raise NotFound("Invalid page.") from None
    count = len(items)
    if size is None:
        size = max(count, 1)
    pages = max(1, -(-count // size))
    if not 1 <= page <= pages:
        raise NotFound("Invalid page.")
    start = (page - 1) * size

    def link(number: int) -> str:
        params = {k: v for k, v in query.items() if k != "page"}
        if number != 1:
            params["page"] = str(number)
        return f"{url}?{urlencode(params)}" if params else url

    return {
        "count": count,
        "next": link(page + 1) if page < pages else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": list(items[start:start + size]),
    }
