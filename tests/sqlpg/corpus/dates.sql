-- case: date_plus_interval
SELECT '2024-01-01'::date + interval '1 day';

-- case: date_plus_int
SELECT '2024-01-01'::date + 7 AS d;

-- case: date_minus_date
SELECT '2024-03-01'::date - '2024-02-01'::date AS days;

-- case: timestamp_minus_timestamp
SELECT '2024-01-02 12:00'::timestamp - '2024-01-01 00:00'::timestamp AS gap;

-- case: end_of_month
SELECT date '2024-01-31' + interval '1 month' AS d;

-- case: at_time_zone_utc
SELECT '2024-05-01 10:00:00+02'::timestamptz AT TIME ZONE 'UTC' AS t;

-- case: date_trunc_month
SELECT date_trunc('month', '2024-05-17 13:45:00'::timestamp) AS m;

-- case: extract_fields
SELECT extract(year FROM '2024-05-17'::date) AS y, extract(dow FROM '2024-05-17'::date) AS dow;

-- case: date_part
SELECT date_part('hour', '2024-05-17 13:45:00'::timestamp) AS h;

-- case: age
SELECT age('2024-05-17'::timestamp, '2023-01-01'::timestamp) AS a;

-- case: interval_banana
SELECT interval 'banana';

-- case: now_name
SELECT * FROM (SELECT now()) s WHERE false;

-- case: current_date_type
SELECT current_date - current_date AS zero;

-- case: timestamp_column
CREATE TABLE events (id int PRIMARY KEY, at timestamptz);
INSERT INTO events VALUES (1, '2024-01-01 10:00:00+00'), (2, '2024-01-02 11:30:00+01');
SELECT id, at FROM events ORDER BY at;

-- case: timestamp_compare
SELECT id FROM events WHERE at > '2024-01-01 12:00:00+00' ORDER BY id;

-- case: to_char
SELECT to_char('2024-05-17 13:45:00'::timestamp, 'YYYY-MM-DD') AS s;

-- case: make_date
SELECT make_date(2024, 2, 29) AS d;

-- case: interval_arith
SELECT interval '1 hour' * 3 AS i, interval '1 day' + interval '2 hours' AS j;

-- case: date_cast_text
SELECT '2024-05-17'::date AS d;

-- case: bad_date
SELECT '2024-02-30'::date;

-- case: timestamp_difference_forms
SELECT '2024-01-01 00:00'::timestamp - '2024-01-02 02:30'::timestamp AS neg, '2024-03-01'::timestamp - '2024-02-01'::timestamp AS days, '2024-01-01'::timestamp - '2024-01-01'::timestamp AS zero;

-- case: timestamp_cast_fraction
SELECT '2024-01-01 00:00:01.5'::timestamp - '2024-01-01 00:00'::timestamp AS frac, '2024-01-01 00:00:01.25'::timestamp AS t;

-- case: timestamp_difference_columns
SELECT id, at - '2024-01-01 00:00:00+00'::timestamptz AS since FROM events ORDER BY id;

-- case: age_forms
SELECT age('2023-01-01'::timestamp, '2024-05-17'::timestamp) AS back, age('2024-03-31 10:00'::timestamp, '2024-02-29 12:00'::timestamp) AS borrow, age('2024-01-01'::timestamp, '2024-01-01'::timestamp) AS same;
