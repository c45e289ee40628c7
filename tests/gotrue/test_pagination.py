"""The admin list's pagination headers, read the way supabase-js's `admin.listUsers` reads
them (its parser takes the first digit after the first `=` of each link, so only pages 1..9
come through whole; the arithmetic is checked for every page)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from api.gotrue.admin import pagination_headers

PATH = "/auth/v1/admin/users"


def links(headers: dict[str, str]) -> dict[str, int]:
    found = {}
    for link in headers["Link"].split(","):
        matched = re.fullmatch(r' ?<[^?>]+\?page=(\d+)&per_page=\d+>; rel="(\w+)"', link)
        assert matched is not None, link
        found[matched[2]] = int(matched[1])
    return found


@given(total=st.integers(0, 10_000), per_page=st.integers(1, 1000), page=st.integers(1, 10_000))
def test_next_and_last_pages(total: int, per_page: int, page: int) -> None:
    headers = pagination_headers(PATH, page, per_page, total)
    assert headers["X-Total-Count"] == str(total)
    found = links(headers)
    last = found.pop("last")
    assert (last - 1) * per_page < total <= last * per_page or total == last == 0
    if page * per_page < total:
        assert found == {"next": page + 1}
    else:
        assert found == {}


def test_the_first_of_three_pages() -> None:
    assert pagination_headers(PATH, 1, 2, 5) == {
        "X-Total-Count": "5",
        "Link": f'<{PATH}?page=2&per_page=2>; rel="next", <{PATH}?page=3&per_page=2>; rel="last"',
    }
