-- case: create_enum
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE person (name text, m mood);
INSERT INTO person VALUES ('a', 'happy'), ('b', 'sad'), ('c', 'ok');
SELECT name, m FROM person ORDER BY m;

-- case: enum_bad_label
INSERT INTO person VALUES ('d', 'angry');

-- case: enum_compare
SELECT name FROM person WHERE m > 'sad' ORDER BY name;

-- case: enum_cast
SELECT 'ok'::mood AS m;

-- case: enum_drop_type
CREATE TYPE color AS ENUM ('red', 'green');
DROP TYPE color;
SELECT 'red'::color;
