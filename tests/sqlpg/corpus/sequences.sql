-- case: create_sequence
CREATE SEQUENCE s1;
SELECT nextval('s1') AS a;
SELECT nextval('s1') AS b;

-- case: setval
SELECT setval('s1', 100);
SELECT nextval('s1');

-- case: start_increment
CREATE SEQUENCE s2 START WITH 10 INCREMENT BY 5;
SELECT nextval('s2') AS a, nextval('s2') AS b;

-- case: default_nextval
CREATE SEQUENCE order_no START 1000;
CREATE TABLE orders (no bigint DEFAULT nextval('order_no') PRIMARY KEY, item text);
INSERT INTO orders (item) VALUES ('a'), ('b');
SELECT no, item FROM orders ORDER BY no;

-- case: currval
SELECT currval('order_no');

-- case: unknown_sequence
SELECT nextval('nosuchseq');

-- case: drop_sequence
CREATE SEQUENCE s3;
DROP SEQUENCE s3;
SELECT nextval('s3');

-- case: serial_column
CREATE TABLE ser (id serial PRIMARY KEY, v text);
INSERT INTO ser (v) VALUES ('a'), ('b');
SELECT id, v FROM ser ORDER BY id;
