-- case: add_column
CREATE TABLE t1 (id int PRIMARY KEY, a text);
INSERT INTO t1 VALUES (1, 'x');
ALTER TABLE t1 ADD COLUMN b int DEFAULT 5;
SELECT id, a, b FROM t1;

-- case: drop_column
ALTER TABLE t1 DROP COLUMN b;
SELECT * FROM t1;

-- case: rename_column
ALTER TABLE t1 RENAME COLUMN a TO label;
SELECT label FROM t1;

-- case: rename_table
CREATE TABLE t2 (id int);
ALTER TABLE t2 RENAME TO t2b;
SELECT count(*) FROM t2b;

-- case: alter_column_type
CREATE TABLE t3 (id int PRIMARY KEY, n text);
INSERT INTO t3 VALUES (1, '42');
ALTER TABLE t3 ALTER COLUMN n TYPE int USING n::int;
SELECT n + 1 AS m FROM t3;

-- case: set_drop_default
CREATE TABLE t4 (id int PRIMARY KEY, s text);
ALTER TABLE t4 ALTER COLUMN s SET DEFAULT 'new';
INSERT INTO t4 (id) VALUES (1);
ALTER TABLE t4 ALTER COLUMN s DROP DEFAULT;
INSERT INTO t4 (id) VALUES (2);
SELECT id, s FROM t4 ORDER BY id;

-- case: set_not_null
CREATE TABLE t5 (id int PRIMARY KEY, s text);
ALTER TABLE t5 ALTER COLUMN s SET NOT NULL;
INSERT INTO t5 VALUES (1, NULL);

-- case: drop_not_null
CREATE TABLE t6 (id int PRIMARY KEY, s text NOT NULL);
ALTER TABLE t6 ALTER COLUMN s DROP NOT NULL;
INSERT INTO t6 VALUES (1, NULL);
SELECT count(*) FROM t6;

-- case: create_table_as
CREATE TABLE src (id int, v text);
INSERT INTO src VALUES (1, 'a'), (2, 'b');
CREATE TABLE copy1 AS SELECT id, upper(v) AS v FROM src WHERE id > 1;
SELECT id, v FROM copy1;

-- case: create_index
CREATE INDEX src_v ON src (v);
DROP INDEX src_v;

-- case: create_if_not_exists
CREATE TABLE IF NOT EXISTS src (id int);
CREATE TABLE src (id int);

-- case: drop_table_if_exists
DROP TABLE IF EXISTS nothing_here;
DROP TABLE nothing_here;

-- case: check_constraint
CREATE TABLE t7 (n int CHECK (n > 0));
INSERT INTO t7 VALUES (0);

-- case: add_constraint_unique
CREATE TABLE t8 (id int, e text);
ALTER TABLE t8 ADD CONSTRAINT t8_e UNIQUE (e);
INSERT INTO t8 VALUES (1, 'a'), (2, 'a');

-- case: comment_on
CREATE TABLE t9 (id int);
COMMENT ON TABLE t9 IS 'nine';

-- case: numeric_precision
CREATE TABLE money (amount numeric(10, 2));
INSERT INTO money VALUES (1.005), (2.5);
SELECT amount FROM money ORDER BY amount;

-- case: identity_column
CREATE TABLE t10 (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, s text);
INSERT INTO t10 (s) VALUES ('a'), ('b');
SELECT id, s FROM t10 ORDER BY id;

-- case: truncate
TRUNCATE src;
SELECT count(*) FROM src;
