"""Differential property: whatever the query shape, a user sees exactly the database
restricted to the rows its policies show — the rewrite on the full database answers like a
database that holds only those rows."""

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth.principal import Principal, user_principal

Runner = Callable[..., list[tuple[Any, ...]]]
ALICE = user_principal("alice", "shop", {"team": "red"})
SHOP_KEY = Principal(kind="namespace", id="key:k", namespace="shop")

tables = st.sampled_from(["todos", "notes", "audit"])
joins = st.sampled_from(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
set_ops = st.sampled_from(["UNION", "UNION ALL", "EXCEPT", "INTERSECT"])
bound = st.integers(min_value=0, max_value=5)


def _join(t1: str, t2: str, join: str, k: int) -> str:
    return f"SELECT a.id, b.id FROM {t1} AS a {join} {t2} AS b ON a.id = b.id + {k - 2}"


def _membership(t1: str, t2: str, negate: bool, k: int) -> str:
    op = "NOT IN" if negate else "IN"
    return f"SELECT id FROM {t1} WHERE id {op} (SELECT id FROM {t2} WHERE id > {k})"


def _exists(t1: str, t2: str, negate: bool, k: int) -> str:
    no = "NOT " if negate else ""
    return (
        f"SELECT a.id FROM {t1} AS a WHERE {no}EXISTS "
        f"(SELECT 1 FROM {t2} AS b WHERE b.id = a.id + {k - 2})"
    )


def _cte(t1: str, t2: str, op: str, k: int) -> str:
    return (
        f"WITH c AS (SELECT id FROM {t1} WHERE id >= {k}) SELECT id FROM c {op} SELECT id FROM {t2}"
    )


def _aggregate(t1: str, t2: str, k: int) -> str:
    return (
        f"SELECT count(*), max(id), (SELECT count(*) FROM {t2} WHERE id < {k}) "
        f"FROM {t1} GROUP BY id > {k} HAVING count(*) >= 0"
    )


def _nested(t1: str, t2: str, k: int) -> str:
    return (
        f"SELECT s.id FROM (SELECT id FROM {t1} UNION SELECT id + {k} FROM {t2}) AS s "
        f"JOIN (SELECT * FROM {t1}) AS x ON x.id = s.id"
    )


queries = st.one_of(
    st.builds(_join, tables, tables, joins, bound),
    st.builds(_membership, tables, tables, st.booleans(), bound),
    st.builds(_exists, tables, tables, st.booleans(), bound),
    st.builds(_cte, tables, tables, set_ops, bound),
    st.builds(_aggregate, tables, tables, bound),
    st.builds(_nested, tables, tables, bound),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sql=queries)
def test_user_sees_the_database_restricted_to_visible_rows(
    visible_only: tuple[Runner, Runner], sql: str
) -> None:
    through_rls, restricted = visible_only
    assert Counter(through_rls(sql, ALICE)) == Counter(restricted(sql, SHOP_KEY)), sql
