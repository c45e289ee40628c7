"""Log consumers that fold events into state: the SQLite projection and its checkpoints.

- `store`: the live SQLite projection (WAL, snapshot reads at a known applied LSN).
- `folds`: which function folds which record kind; other packages register theirs.
- `pipeline`: serialised writes pipelined with the log's group commit.
- `checkpoints`, `repair`, `replay`, `timetravel`: copies at an LSN, repair after a crash,
  rebuild and replay from the log, reads of past states.

Exceptions (`projections.errors`):

    ProjectionError
    ├── StoreLockedError        another process holds the projection store
    ├── LsnOutOfRangeError      an LSN below 0 or beyond the log's durable head
    ├── CheckpointError         a checkpoint could not be written
    │   └── InvalidCheckpointError   signature, digest, chain hash or format is wrong
    ├── FoldError               a fold raised on a durable record (rolled back, LSN advanced)
    ├── PipelineClosedError     the commit pipeline is closed or stopped after a failure
    └── AppendFailedError       the log could not make a write durable; it changed nothing
"""
