-- case: jsonb_column
CREATE TABLE docs (id int PRIMARY KEY, body jsonb);
INSERT INTO docs VALUES (1, '{"a": 1, "b": {"c": "x"}, "t": true, "l": [1, 2]}'), (2, '{"a": 2, "t": false}');
SELECT id, body FROM docs ORDER BY id;

-- case: arrow_ops
SELECT body -> 'a' AS a, body ->> 'a' AS a_text, body -> 'b' ->> 'c' AS c FROM docs WHERE id = 1;

-- case: path_ops
SELECT body #> '{b,c}' AS p, body #>> '{b,c}' AS q FROM docs WHERE id = 1;

-- case: containment
SELECT id FROM docs WHERE body @> '{"a": 1}';

-- case: key_exists
SELECT id FROM docs WHERE body ? 'b';

-- case: key_exists_any_all
SELECT id FROM docs WHERE body ?| array['b', 'zz'] ORDER BY id;

-- case: jsonb_boolean
SELECT body -> 't' AS t FROM docs ORDER BY id;

-- case: not_json
SELECT 'notjson'::jsonb;

-- case: jsonb_set
SELECT jsonb_set('{"a": 1}'::jsonb, '{a}', '2') AS j;

-- case: build_object
SELECT jsonb_build_object('a', 1, 'b', 'x') AS o, jsonb_build_array(1, 'two') AS a;

-- case: jsonb_typeof
SELECT jsonb_typeof('1'::jsonb) AS n, jsonb_typeof('"s"'::jsonb) AS s, jsonb_typeof('[]'::jsonb) AS a;

-- case: strip_nulls
SELECT jsonb_strip_nulls('{"a": null, "b": 1}'::jsonb) AS j;

-- case: delete_key
SELECT '{"a": 1, "b": 2}'::jsonb - 'a' AS j;

-- case: concat_jsonb
SELECT '{"a": 1}'::jsonb || '{"b": 2}'::jsonb AS j;

-- case: array_length
SELECT jsonb_array_length(body -> 'l') AS n FROM docs WHERE id = 1;

-- case: update_jsonb
UPDATE docs SET body = body || '{"z": 0}' WHERE id = 2;
SELECT body ->> 'z' AS z FROM docs WHERE id = 2;
