-- case: array_literal
SELECT ARRAY[1, 2, 3] AS a;

-- case: array_column
CREATE TABLE posts (id int PRIMARY KEY, tags text[]);
INSERT INTO posts VALUES (1, ARRAY['a', 'b']), (2, '{c}'), (3, '{}');
SELECT id, tags FROM posts ORDER BY id;

-- case: array_any
SELECT id FROM posts WHERE 'a' = ANY(tags);

-- case: array_contains
SELECT id FROM posts WHERE tags @> ARRAY['b'];

-- case: array_overlap
SELECT id FROM posts WHERE tags && ARRAY['c', 'z'];

-- case: array_length
SELECT id, array_length(tags, 1) AS n, cardinality(tags) AS c FROM posts ORDER BY id;

-- case: array_subscript
SELECT tags[1] AS first FROM posts WHERE id = 1;

-- case: in_any_literal
SELECT 2 = ANY(ARRAY[1, 2]) AS a, 3 <> ALL(ARRAY[1, 2]) AS b;

-- case: array_append
SELECT array_append(ARRAY[1, 2], 3) AS a, array_cat(ARRAY[1], ARRAY[2]) AS b;

-- case: array_to_string
SELECT array_to_string(ARRAY['a', 'b'], '/') AS s;

-- case: string_to_array
SELECT string_to_array('a,b,c', ',') AS a;
