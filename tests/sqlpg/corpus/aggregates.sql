-- case: basic_aggregates
CREATE TABLE m (g text, v int, f float8);
INSERT INTO m VALUES ('a', 1, 0.5), ('a', 3, 1.5), ('b', 5, NULL), ('b', NULL, 2.0);
SELECT g, count(*) AS c, count(v) AS cv, sum(v) AS s, min(v) AS mn, max(v) AS mx FROM m GROUP BY g ORDER BY g;

-- case: avg
SELECT avg(v) AS a FROM m;

-- case: string_agg
SELECT string_agg(g, ',') AS s FROM (SELECT DISTINCT g FROM m ORDER BY g) t;

-- case: string_agg_order_by
SELECT string_agg(v::text, ',' ORDER BY v DESC) AS s FROM m;

-- case: filter
SELECT count(*) FILTER (WHERE v > 1) AS big, sum(v) FILTER (WHERE g = 'a') AS a FROM m;

-- case: bool_and_or
SELECT bool_and(v > 0) AS all_pos, bool_or(v > 4) AS any_big FROM m;

-- case: array_agg
SELECT array_agg(v ORDER BY v) AS vs FROM m WHERE v IS NOT NULL;

-- case: jsonb_agg
SELECT jsonb_agg(v ORDER BY v) AS vs FROM m WHERE v IS NOT NULL;

-- case: jsonb_object_agg
SELECT jsonb_object_agg(g, v) AS o FROM m WHERE v IN (1, 5);

-- case: percentile_cont
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median FROM m;

-- case: mode
SELECT mode() WITHIN GROUP (ORDER BY g) AS common FROM m;

-- case: count_distinct
SELECT count(DISTINCT g) AS n FROM m;

-- case: sum_empty
SELECT sum(v) AS s, count(*) AS c FROM m WHERE false;

-- case: window_sum
SELECT g, v, sum(v) OVER (PARTITION BY g ORDER BY v) AS running FROM m WHERE v IS NOT NULL ORDER BY g, v;

-- case: rank_dense_rank
SELECT v, rank() OVER (ORDER BY g) AS r, dense_rank() OVER (ORDER BY g) AS d FROM m ORDER BY v NULLS LAST;

-- case: having_aggregate
SELECT g FROM m GROUP BY g HAVING sum(v) > 4;

-- case: round
SELECT round(2.567, 2) AS r, round(2.5) AS h, floor(-1.5) AS f, ceil(1.2) AS c;

-- case: string_agg_order_nulls_distinct
SELECT string_agg(g, '-' ORDER BY g DESC) AS a, string_agg(DISTINCT g, ',' ORDER BY g) AS b, string_agg(v::text, ',' ORDER BY f NULLS FIRST, v) AS c FROM m;

-- case: ordered_agg_grouped_filter
SELECT g, string_agg(v::text, ',' ORDER BY v DESC) FILTER (WHERE v IS NOT NULL) AS s, jsonb_agg(f ORDER BY f DESC) AS j FROM m GROUP BY g ORDER BY g;

-- case: percentile_disc_desc
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY v) AS d, percentile_cont(0.25) WITHIN GROUP (ORDER BY v DESC) AS c, percentile_cont(1) WITHIN GROUP (ORDER BY f) AS top FROM m;

-- case: percentile_grouped_and_empty
SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY f) AS med, mode() WITHIN GROUP (ORDER BY v) AS mo FROM m GROUP BY g ORDER BY g;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS none FROM m WHERE false;

-- case: percentile_out_of_range
SELECT percentile_cont(1.5) WITHIN GROUP (ORDER BY v) AS bad FROM m;
