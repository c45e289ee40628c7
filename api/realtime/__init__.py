"""Realtime: the log's row changes pushed to subscribers as server-sent events.

Realtime is a consumer of the log like the others. One `Hub` task per server follows the log
and fans each change out to the registered subscribers; a subscriber that resumes from an
older id first reads the log itself (`catchup`), then joins the hub at the hub's position,
with no await between the check and the join, so nothing is lost or repeated at the seam.
On a read replica the same code reads the replica's history of applied records instead.

- ``position``: event ids ``<lsn>.<index>`` and the "after this id" ordering;
- ``events``: log records -> typed change events, each encoded once as an SSE frame;
- ``coltypes``: column type families per table (catalogue + DDL seen in the stream);
- ``access``: who may see which event (tables/ops filters, namespaces, row-level security);
- ``subscriber``: one subscriber's bounded buffer; ``hub``: the fan-out task;
- ``catchup``: reading the log for a resuming subscriber; ``stream``: one subscription's frames;
- ``source``: what the hub and catch-up read (a primary's log or a replica's history).

Exception tree (``api.realtime.errors``), translated to HTTP only by the HTTP layer::

    RealtimeError
    ├── SubscriptionError   400 BAD_REQUEST: a malformed id, table list, op list or setting
    └── HistoryGoneError    400 BAD_REQUEST: a resume id older than the history held here
"""
