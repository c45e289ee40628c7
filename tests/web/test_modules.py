"""The dashboard's pure modules, run in the browser as the pages run them."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Dashboard

TO = "\N{EN DASH}"  # between the bounds of a bucket's label
METRICS = """# HELP bkg_x_seconds latency
# TYPE bkg_x_seconds histogram
bkg_x_seconds_bucket{route="/query",le="0.01"} 2
bkg_x_seconds_bucket{route="/query",le="0.1"} 6
bkg_x_seconds_bucket{route="/query",le="+Inf"} 8
bkg_x_seconds_sum{route="/query"} 1.5
bkg_x_seconds_count{route="/query"} 8
bkg_x_seconds_bucket{route="/schema",le="0.01"} 5
bkg_x_seconds_bucket{route="/schema",le="0.1"} 5
bkg_x_seconds_bucket{route="/schema",le="+Inf"} 5
bkg_x_seconds_count{route="/schema"} 5
bkg_consumer_lag_records{consumer="kafka \\"mirror\\""} 3
bkg_log_head_lsn 42
"""


def run_module(dashboard: Dashboard, module: str, body: str, arg: Any) -> Any:
    """Import `web/js/<module>` in the page and run `body` with it as `m` and `arg`."""
    dashboard.page.goto(f"{dashboard.server.url}/admin")
    script = f"async (arg) => {{ const m = await import('/admin/js/{module}'); {body} }}"
    return dashboard.page.evaluate(script, arg)


EARLIER = (
    METRICS.replace('le="0.1"} 6', 'le="0.1"} 4')
    .replace('route="/query",le="+Inf"} 8', 'route="/query",le="+Inf"} 6')
    .replace('_count{route="/query"} 8', '_count{route="/query"} 6')
)


def test_prometheus_text_is_read_into_samples_sums_and_quantiles(dashboard: Dashboard) -> None:
    answer = run_module(
        dashboard,
        "prom.js",
        """
        const samples = m.parse(arg.later);
        const onQuery = (l) => l.route === "/query";
        const later = m.histogram(samples, "bkg_x_seconds", onQuery);
        const between = m.delta(later, m.histogram(m.parse(arg.earlier), "bkg_x_seconds", onQuery));
        return {
          head: m.total(samples, "bkg_log_head_lsn"),
          missing: m.total(samples, "bkg_nope"),
          consumer: m.select(samples, "bkg_consumer_lag_records")[0].labels.consumer,
          all: m.histogram(samples, "bkg_x_seconds").count,
          median: m.quantile(later, 0.5),
          p95: m.quantile(later, 0.95),
          betweenCount: between.count,
          betweenP95: m.quantile(between, 0.95),
          none: m.quantile(m.delta(later, later), 0.5),
          bars: m.distribution(later),
        };
        """,
        {"later": METRICS, "earlier": EARLIER},
    )
    assert answer["head"] == 42
    assert answer["missing"] is None
    assert answer["consumer"] == 'kafka "mirror"'
    assert answer["all"] == 13
    # rank 4 of 8 falls halfway through the (0.01, 0.1] bucket's 4 observations
    assert abs(answer["median"] - 0.055) < 1e-9
    # beyond the last finite bound, the estimate is that bound
    assert answer["p95"] == 0.1
    # between the scrapes: two observations, both in (0.01, 0.1]
    assert answer["betweenCount"] == 2
    assert abs(answer["betweenP95"] - (0.01 + 0.09 * 0.95)) < 1e-9
    assert answer["none"] is None
    assert answer["bars"] == [[f"0{TO}0.01", 2], [f"0.01{TO}0.1", 4], [">0.1", 2]]


def test_batch_sizes_are_labelled_as_integer_ranges(dashboard: Dashboard) -> None:
    text = "\n".join(
        f'bkg_b_bucket{{le="{le}"}} {count}'
        for le, count in [("1", 3), ("2", 5), ("4", 9), ("8", 9), ("+Inf", 10)]
    )
    bars = run_module(
        dashboard, "prom.js", "return m.distribution(m.histogram(m.parse(arg), 'bkg_b'));", text
    )
    assert bars == [["1", 3], ["2", 2], [f"3{TO}4", 4], [f"5{TO}8", 0], [">8", 1]]


def test_statements_split_on_semicolons_outside_quotes_and_comments(dashboard: Dashboard) -> None:
    sql = "INSERT INTO t VALUES ('a;b'); -- note; here\nSELECT \"x;y\" FROM t;;  "
    parts = run_module(dashboard, "pages/sql.js", "return m.splitStatements(arg);", sql)
    assert parts == ["INSERT INTO t VALUES ('a;b')", 'SELECT "x;y" FROM t']
