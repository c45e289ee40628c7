"""`/realtime/v1/websocket`: the Phoenix channels protocol as Supabase Realtime speaks it,
over the same hub, catch-up and per-subscriber row-level security as `GET /realtime`.

- ``wire``: frames of protocol versions 1.0.0 (JSON objects) and 2.0.0 (JSON arrays);
- ``bindings``: a join's ``config.postgres_changes`` (event, schema, table, filter);
- ``changes``: a channel's subscriber in the hub, encoding changes as Supabase does;
- ``rooms``: broadcast and presence between the channels of one topic (one server);
- ``outbox``: a socket's bounded send queue (a slow client is disconnected);
- ``socket``: one connection: its channels, their joins, leaves and messages, the limits.

The route is `api.http.routes.realtime_ws`; docs/realtime.md has the contract and the
differences from Supabase.
"""
