-- case: create_insert_select
CREATE TABLE todos (id serial PRIMARY KEY, title text NOT NULL, done boolean DEFAULT false);
INSERT INTO todos (title) VALUES ('milk'), ('eggs'), ('bread');
SELECT id, title, done FROM todos ORDER BY id;

-- case: where_and_or
SELECT title FROM todos WHERE id > 1 AND (done = false OR title = 'milk') ORDER BY title;

-- case: update_returning
UPDATE todos SET done = true WHERE title = 'eggs' RETURNING id, done;
SELECT count(*) FROM todos WHERE done;

-- case: delete_rowcount
INSERT INTO todos (title) VALUES ('junk');
DELETE FROM todos WHERE title = 'junk';
SELECT count(*) AS n FROM todos;

-- case: join_left
CREATE TABLE authors (id int PRIMARY KEY, name text);
CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors (id), title text);
INSERT INTO authors VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cid');
INSERT INTO books VALUES (10, 1, 'A1'), (11, 1, 'A2'), (12, 2, 'B1');
SELECT a.name, b.title FROM authors a LEFT JOIN books b ON b.author_id = a.id ORDER BY a.name, b.title;

-- case: group_having
SELECT a.name, count(b.id) AS books FROM authors a LEFT JOIN books b ON b.author_id = a.id GROUP BY a.name HAVING count(b.id) > 0 ORDER BY books DESC, a.name;

-- case: order_limit_offset
SELECT title FROM books ORDER BY title DESC LIMIT 2 OFFSET 1;

-- case: cte
WITH prolific AS (SELECT author_id FROM books GROUP BY author_id HAVING count(*) > 1) SELECT name FROM authors WHERE id IN (SELECT author_id FROM prolific);

-- case: subquery_exists
SELECT name FROM authors a WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.author_id = a.id);

-- case: upsert
CREATE TABLE kv (k text PRIMARY KEY, v int);
INSERT INTO kv VALUES ('a', 1);
INSERT INTO kv VALUES ('a', 2) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v;
INSERT INTO kv VALUES ('a', 9) ON CONFLICT DO NOTHING;
SELECT k, v FROM kv;

-- case: case_coalesce
SELECT id, CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END AS parity, coalesce(NULL, id) AS c FROM authors ORDER BY id;

-- case: window_row_number
SELECT title, row_number() OVER (PARTITION BY author_id ORDER BY title) AS rn FROM books ORDER BY title;

-- case: union_intersect
SELECT name FROM authors UNION SELECT title FROM books ORDER BY 1;
SELECT 1 AS x INTERSECT SELECT 1;

-- case: values_standalone
VALUES (1, 'a'), (2, 'b');

-- case: integer_division
SELECT 7 / 2 AS a, -7 / 2 AS b, 7 % 3 AS c, 7.0 / 2 AS d;

-- case: division_by_zero
SELECT 1 / 0;

-- case: unique_violation
CREATE TABLE u (email text UNIQUE);
INSERT INTO u VALUES ('a@x');
INSERT INTO u VALUES ('a@x');

-- case: not_null_violation
INSERT INTO todos (title) VALUES (NULL);

-- case: unknown_table
SELECT * FROM nosuch;

-- case: unknown_column
SELECT nosuch FROM todos;

-- case: distinct_on
SELECT DISTINCT ON (author_id) author_id, title FROM books ORDER BY author_id, title DESC;

-- case: anonymous_column_names
SELECT 1, 1 + 1, 'x', count(*) FROM authors;

-- case: scalar_subquery_paren
(SELECT 1);

-- case: like_ilike
SELECT name FROM authors WHERE name LIKE 'A%' OR name ILIKE 'b%' ORDER BY name;

-- case: in_list_between
SELECT id FROM authors WHERE id IN (1, 3) OR id BETWEEN 5 AND 6 ORDER BY id;

-- case: limit_negative
SELECT id FROM authors LIMIT -1;

-- case: integer_overflow
SELECT 9223372036854775807 + 1;

-- case: cast_numeric_to_int
SELECT 2.99::int AS a, 2.5::int AS b, (-2.5)::int AS c;

-- case: bool_output
SELECT true AS t, 1 = 1 AS eq, NOT true AS f;

-- case: null_handling
SELECT NULL IS NULL AS a, coalesce(NULL, 'x') AS b, nullif(1, 1) AS c;
