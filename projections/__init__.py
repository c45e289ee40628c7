"""Log consumers that fold events into state: the SQLite projection and its checkpoints.

- `store`, `meta`: the live SQLite projection (WAL, snapshot reads at a known applied LSN)
  and the applied LSN kept in the same transactions as the effects.
- `folds`, `apply`: which function folds which record kind (other packages register
  theirs); SQL row images and DDL applied exactly as logged.
- `pipeline`: serialised writes pipelined with the log's group commit.
- `checkpoints`, `policy`: signed copies at an LSN, and when to take them.
- `repair`, `replay`, `export`, `timetravel`: opening (and repairing) the store, folding log
  records, a past state as a file, reads of past states.
- `consumers`: log consumers with durable cursors (realtime, Kafka mirror, ...).
- `deadline`, `limits`: statement deadlines and cancellation; SQLite resource limits of
  every connection that runs statements.
- `archive`: continuous backup of the log (and checkpoints) to an object store, and restore.

Exceptions (`projections.errors`):

    ProjectionError
    ├── StoreLockedError        another process holds the projection store
    ├── LsnOutOfRangeError      an LSN below 0 or beyond the log's durable head
    ├── CheckpointError         a checkpoint could not be written
    │   └── InvalidCheckpointError   signature, digest, chain hash or format is wrong
    ├── FoldError               a fold raised on a durable record (rolled back, LSN advanced)
    ├── PipelineClosedError     the commit pipeline is closed or stopped after a failure
    ├── AppendFailedError       the log could not make a write durable; it changed nothing
    └── StatementCanceledError  work ran past its deadline or was cancelled (`deadline`)
"""
