"""The PostgreSQL v3 wire protocol: a front door beside HTTP over the same `Database`,
principals, row-level security, rate budgets and log (docs/pgwire.md).

- ``server``: the asyncio listener (connection limit, handshake timeout, cancel keys);
- ``startup``: SSL/GSS negotiation, protocol version, password authentication;
- ``scram``: the SCRAM-SHA-256 exchange (sans-IO);
- ``session``: the message loop, simple query, COPY, transaction state;
- ``extended``: the extended query protocol (prepared statements and portals);
- ``runner``: statements on the `Database` off the event loop; transaction blocks;
- ``codec``: framing; ``types``: OIDs, text and binary formats; ``answers``: results;
- ``statements``: splitting, session-control statements, command tags;
- ``infer``: parameter types from the catalogue; ``settings``: SET/SHOW, ParameterStatus;
- ``catalog``, ``pg_catalog``: catalogue emulation filtered by principal;
- ``copy``: COPY FROM STDIN / TO STDOUT; ``cursors``: DECLARE/FETCH/CLOSE;
- ``notify``: LISTEN/NOTIFY between sessions; ``errors``: SQLSTATEs.

Errors reach clients as ``PgError`` (severity, SQLSTATE, message); the engine's errors carry
their precise SQLSTATE from where they are raised.
"""
