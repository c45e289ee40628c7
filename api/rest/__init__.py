"""`/rest/v1`: the PostgREST-compatible data API (the grammar Supabase clients speak).

Modules: `ast` (the typed form of a query string), `grammar` (query string → `ast`, PGRST100
on anything else), `errors` (PostgREST's error body and its codes); the SQL builder, the
execution through the same governed path as `/query`, and the routes sit beside them (see
docs/rest.md for the map).
"""
