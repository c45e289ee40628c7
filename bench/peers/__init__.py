"""The systems bkg-db is measured against, each a :class:`bench.load.Peer`.

- ``fsync_file``: ``write`` + ``fsync`` per record to one plain file (the floor of durability).
- ``sqlite_txn``: SQLite in WAL mode, ``synchronous=FULL``, one INSERT per transaction, one
  connection per thread.
- ``eventsourcing``: the ``eventsourcing`` library's SQLite application recorder.
- ``postgres``: single-row INSERTs into a temporary PostgreSQL cluster
  (:func:`bench.peers.postgres.temporary_postgres`), ``synchronous_commit=on``.

Every peer is a context manager (:class:`bench.load.Managed`): entering creates its store
under the directory it is given, leaving closes it; the caller owns (and removes) the
directory.

Besides the peers, the servers that scenarios start and that tests reuse (shipped here
because shipped code never imports ``tests``): ``kafka`` (a Tansu Kafka-protocol broker)
and ``seaweed`` (SeaweedFS with its S3 gateway).
"""
