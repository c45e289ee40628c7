"""Log consumers that run beside the writer: the machinery and the consumers built on it.

- `runner`: a named consumer on its own thread and event loop, fed from its durable cursor
  on: first what the log holds, then live as the log's head moves (no polling in-process).
- `cursor`, `stats`: crash-safe positions under data/consumers/, lag and throughput.
- `sealed`: reading records together with the seal frames that sign them.
- `stream_verify`: checking a stream of mirrored frames (CRC, LSN order, chain, seals).
- `kafka_mirror`, `cdc`: the Kafka mirror (`bkg.log`, `bkg.cdc.<ns>.<table>`, `bkg.schema`).
- `audit`, `audit_files`, `audit_verify`: the signed JSON Lines audit trail.
- `replica`: a projection built from `bkg.log`, verified record by record;
  `replica_history`: the records it applied, kept beside their effects and read back.

The log never waits for a consumer: a slow, failing or stopped consumer only grows its lag.

Exceptions (`projections.consumers.errors`)::

    ConsumerError
    ├── CursorError            a cursor file is unreadable
    ├── StreamVerifyError      a mirrored frame fails CRC, order, chain or signature (has .lsn)
    ├── HistoryUnavailableError  a replica was asked for records before its history begins
    ├── AuditError             the audit trail cannot be written or read
    │   └── AuditVerifyError   a file fails its seal or does not match the log
    └── MirrorError            the Kafka mirror cannot be configured or started
"""
