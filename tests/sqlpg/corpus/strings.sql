-- case: lpad_rpad
SELECT lpad('7', 3, '0') AS a, rpad('ab', 5, '-') AS b, lpad('abcdef', 3) AS c;

-- case: split_part
SELECT split_part('a,b,c', ',', 2) AS p;

-- case: initcap
SELECT initcap('hello wORLD') AS t;

-- case: concat_ws
SELECT concat_ws('-', 'a', NULL, 'b') AS t, concat('x', 1, NULL) AS c;

-- case: position_strpos
SELECT position('lo' IN 'hello') AS p, strpos('hello', 'l') AS s;

-- case: left_right_repeat_reverse
SELECT left('hello', 2) AS l, right('hello', 3) AS r, repeat('ab', 3) AS rep, reverse('abc') AS rev;

-- case: regex_match
SELECT 'abc123' ~ '^[a-z]+[0-9]+$' AS a, 'ABC' ~* 'abc' AS b, 'abc' !~ 'z' AS c, 'ABC' !~* 'abc' AS d;

-- case: regexp_replace
SELECT regexp_replace('a1b22c', '[0-9]+', '#', 'g') AS r;

-- case: translate
SELECT translate('hello', 'el', 'ip') AS t;

-- case: upper_lower_length
SELECT upper('abc') AS u, lower('ABC') AS l, length('héllo') AS n;

-- case: substring
SELECT substring('hello' FROM 2 FOR 3) AS s, substr('hello', 2) AS t;

-- case: trim
SELECT trim('  x  ') AS a, ltrim('xxa', 'x') AS b, btrim('--a--', '-') AS c;

-- case: format
SELECT format('%s has %s', 'ann', 3) AS f;

-- case: like_escape
SELECT 'a_b' LIKE 'a\_b' AS a, '100%' LIKE '100!%' ESCAPE '!' AS b;

-- case: similar_to
SELECT 'abc' SIMILAR TO '(a|b)%' AS s;

-- case: string_concat_op
SELECT 'a' || 'b' || 1 AS s;

-- case: md5
SELECT md5('abc') AS h;

-- case: replace
SELECT replace('aXbXc', 'X', '-') AS r;

-- case: regex_flags_and_groups
SELECT regexp_replace('Hello World', 'o', '0', 'gi') AS a, regexp_replace('abc', '(b)', '[\1\&]') AS b, regexp_replace('ABab', 'a', '-', 'ig') AS c;

-- case: regex_word_boundaries
SELECT 'the cat sat' ~ '\mcat\M' AS a, 'concat' ~ '\mcat' AS b, 'a cat' ~ '\ycat\y' AS c, 'abc' ~ '[[:alpha:]]+' AS d;

-- case: regex_on_column
CREATE TABLE rx (id int PRIMARY KEY, s text);
INSERT INTO rx VALUES (1, 'apple pie'), (2, 'Banana'), (3, NULL), (4, 'cherry 42');
SELECT id FROM rx WHERE s ~* '^b' OR s ~ '[0-9]{2}$' ORDER BY id;
SELECT id, s !~ 'a' AS no_a FROM rx ORDER BY id;

-- case: regexp_matches_rows
SELECT regexp_matches('a1b22c333', '[0-9]+', 'g') AS m;

-- case: substring_pattern
SELECT substring('hello world' FROM 'w(or)') AS a, substring('abc123' FROM '[0-9]+') AS b, substring('abc' FROM 'z') AS c;

-- case: similar_to_escape
SELECT 'a%' SIMILAR TO 'a#%' ESCAPE '#' AS a, 'abc' NOT SIMILAR TO 'b%' AS b, 'aab' SIMILAR TO 'a*b' AS c, 'ab' SIMILAR TO 'a_' AS d;

-- case: regex_invalid
SELECT 'a' ~ '(' AS bad;

-- case: regex_bad_flag
SELECT regexp_replace('a', 'a', 'b', 'z') AS bad;

-- case: regex_repetition_count
SELECT 'aaa' ~ '^a{2,3}$' AS ok;
SELECT 'a' ~ 'a{256}' AS bad;
