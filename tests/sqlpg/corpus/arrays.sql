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

-- case: int_array_column
CREATE TABLE scores (id int PRIMARY KEY, s int[]);
INSERT INTO scores VALUES (1, '{3,1,2}'), (2, ARRAY[5]), (3, NULL);
SELECT id, s, s[2] AS second, array_length(s, 1) AS n FROM scores ORDER BY id;
SELECT id FROM scores WHERE s @> ARRAY[1, 2] ORDER BY id;

-- case: array_remove_position
SELECT array_remove(ARRAY[1, 2, 1], 1) AS r, array_position(ARRAY['x', 'y'], 'y') AS p, array_prepend(0, ARRAY[1]) AS q;

-- case: array_agg_typed
SELECT array_agg(id ORDER BY id DESC) AS ids FROM scores;

-- case: array_malformed
INSERT INTO scores VALUES (4, 'nope');
