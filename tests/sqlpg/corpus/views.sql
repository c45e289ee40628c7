-- case: create_view
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, owner text);
INSERT INTO items VALUES (1, 'pen', 2.5, 'ann'), (2, 'book', 12, 'bob'), (3, 'cup', 4, 'ann');
CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5;
SELECT * FROM cheap ORDER BY id;

-- case: view_with_filter
SELECT name FROM cheap WHERE id > 1;

-- case: view_aggregate
CREATE VIEW per_owner AS SELECT owner, count(*) AS n, sum(price) AS total FROM items GROUP BY owner;
SELECT owner, n, total FROM per_owner ORDER BY owner;

-- case: view_join
CREATE TABLE owners (name text PRIMARY KEY, city text);
INSERT INTO owners VALUES ('ann', 'Oslo'), ('bob', 'Rome');
CREATE VIEW item_city AS SELECT i.name AS item, o.city FROM items i JOIN owners o ON o.name = i.owner;
SELECT item, city FROM item_city ORDER BY item;

-- case: view_cte
CREATE VIEW top_item AS WITH ranked AS (SELECT name, price, rank() OVER (ORDER BY price DESC) AS r FROM items) SELECT name FROM ranked WHERE r = 1;
SELECT * FROM top_item;

-- case: view_over_view
CREATE VIEW cheap_names AS SELECT upper(name) AS shout FROM cheap;
SELECT shout FROM cheap_names ORDER BY shout;

-- case: or_replace
CREATE OR REPLACE VIEW cheap AS SELECT id, name FROM items WHERE price < 3;
SELECT * FROM cheap;

-- case: drop_view
CREATE VIEW tmpv AS SELECT 1 AS one;
DROP VIEW tmpv;
SELECT * FROM tmpv;

-- case: drop_view_if_exists
DROP VIEW IF EXISTS never_there;
DROP VIEW never_there;

-- case: view_sees_new_rows
INSERT INTO items VALUES (4, 'clip', 1, 'bob');
SELECT count(*) FROM cheap;

-- case: create_existing_view
CREATE VIEW cheap AS SELECT 1 AS x;

-- case: view_column_aliases
CREATE VIEW named (a, b) AS SELECT id, name FROM items WHERE id = 1;
SELECT a, b FROM named;

-- case: simple_view_update
CREATE VIEW ann_items AS SELECT id, name, owner FROM items WHERE owner = 'ann';
UPDATE ann_items SET name = 'pencil' WHERE id = 1;
SELECT name FROM items WHERE id = 1;
