-- case: int_series
SELECT * FROM generate_series(1, 5);

-- case: int_series_step
SELECT x FROM generate_series(10, 1, -3) AS x;

-- case: series_column_name
SELECT generate_series(1, 3);

-- case: series_join
CREATE TABLE sales (day int, amount int);
INSERT INTO sales VALUES (1, 10), (3, 5);
SELECT d, coalesce(sum(s.amount), 0) AS total FROM generate_series(1, 4) AS d LEFT JOIN sales s ON s.day = d GROUP BY d ORDER BY d;

-- case: zero_step
SELECT * FROM generate_series(1, 5, 0);

-- case: numeric_series
SELECT * FROM generate_series(0.5, 2.0, 0.5);

-- case: timestamp_series
SELECT * FROM generate_series('2024-01-01'::timestamp, '2024-01-03'::timestamp, interval '1 day');

-- case: date_month_series
SELECT d::date AS month FROM generate_series('2024-01-01'::date, '2024-04-01'::date, interval '1 month') AS d ORDER BY 1;

-- case: unnest_array
SELECT * FROM unnest(ARRAY[1, 2, 3]);

-- case: unnest_text
SELECT unnest(ARRAY['a', 'b']) AS letter;

-- case: jsonb_array_elements
SELECT value FROM jsonb_array_elements('[1, "two", {"three": 3}]'::jsonb);

-- case: jsonb_each
SELECT key, value FROM jsonb_each('{"a": 1, "b": [2]}'::jsonb) ORDER BY key;

-- case: jsonb_array_elements_text
SELECT * FROM jsonb_array_elements_text('["x", "y"]'::jsonb);

-- case: empty_series
SELECT count(*) FROM generate_series(5, 1);
