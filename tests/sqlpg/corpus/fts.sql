-- case: to_tsvector_match
SELECT to_tsvector('english', 'The quick brown foxes') @@ to_tsquery('english', 'fox') AS m;

-- case: plainto_tsquery
SELECT to_tsvector('english', 'jumped over the lazy dog') @@ plainto_tsquery('english', 'lazy dogs') AS m;

-- case: websearch
SELECT to_tsvector('english', 'red apples and green pears') @@ websearch_to_tsquery('english', 'apple -banana') AS m;

-- case: table_search
CREATE TABLE articles (id int PRIMARY KEY, body text);
INSERT INTO articles VALUES (1, 'Postgres full text search'), (2, 'SQLite is small'), (3, 'Searching texts fully');
SELECT id FROM articles WHERE to_tsvector('english', body) @@ to_tsquery('english', 'search') ORDER BY id;

-- case: ts_rank_order
SELECT id FROM articles WHERE to_tsvector('english', body) @@ to_tsquery('english', 'text') ORDER BY ts_rank(to_tsvector('english', body), to_tsquery('english', 'text')) DESC, id;

-- case: no_match
SELECT count(*) FROM articles WHERE to_tsvector('english', body) @@ to_tsquery('english', 'banana');
