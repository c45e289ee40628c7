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

-- case: tsvector_tsquery_output
SELECT to_tsvector('english', 'The quick brown foxes jumped') AS v, to_tsquery('english', 'fox & (dog | cat)') AS q, plainto_tsquery('english', 'the lazy dogs') AS p, phraseto_tsquery('english', 'lazy the dog') AS ph, websearch_to_tsquery('english', '"quick fox" or cat -dog') AS w;

-- case: prefix_phrase_simple
SELECT to_tsvector('english', 'supernovae stars') @@ to_tsquery('english', 'supern:*') AS a, to_tsvector('english', 'quick brown fox') @@ to_tsquery('english', 'quick <-> fox') AS b, to_tsvector('english', 'quick brown fox') @@ to_tsquery('english', 'quick <2> fox') AS c, to_tsvector('simple', 'The Cats') @@ to_tsquery('simple', 'the') AS d, to_tsvector('english', 'a b') @@ to_tsquery('english', '!fox') AS e;

-- case: text_search_config_unknown
SELECT to_tsvector('klingon', 'x') AS v;

-- case: ts_rank_values
SELECT id, ts_rank(to_tsvector('english', body), to_tsquery('english', 'search | text')) > 0 AS ranked FROM articles ORDER BY id;
