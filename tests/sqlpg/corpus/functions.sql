-- case: scalar_function
CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$;
SELECT add_one(41) AS v;

-- case: function_default_name
SELECT add_one(1);

-- case: function_over_table
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance int);
INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'ann', 5);
CREATE FUNCTION balance_of(who text) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT sum(balance) FROM acct WHERE owner = who $$;
SELECT balance_of('ann') AS b;

-- case: returns_table
CREATE FUNCTION accounts_of(who text) RETURNS TABLE (id int, balance int) LANGUAGE sql STABLE AS $$ SELECT id, balance FROM acct WHERE owner = who $$;
SELECT * FROM accounts_of('ann') ORDER BY id;

-- case: returns_setof
CREATE FUNCTION rich() RETURNS SETOF acct LANGUAGE sql AS $$ SELECT * FROM acct WHERE balance >= 10 $$;
SELECT id, owner FROM rich() ORDER BY id;

-- case: or_replace_function
CREATE OR REPLACE FUNCTION add_one(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 100 $$;
SELECT add_one(1) AS v;

-- case: drop_function
CREATE FUNCTION gone() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
DROP FUNCTION gone();
SELECT gone();

-- case: function_in_where
SELECT id FROM acct WHERE balance > add_one(-95) ORDER BY id;

-- case: positional_params
CREATE FUNCTION mul(int, int) RETURNS int LANGUAGE sql AS $$ SELECT $1 * $2 $$;
SELECT mul(6, 7) AS p;

-- case: unknown_function
SELECT no_such_function(1);

-- case: drop_function_if_exists
DROP FUNCTION IF EXISTS never_defined(int);
