"""Resumable uploads (TUS 1.0: core protocol, creation and termination extensions).

An upload is a folder `data/objects/.uploads/<id>/` holding `info.json` (target bucket and
name, announced length, content type, metadata and the principal who created it) and
`data`, the bytes received so far. Its offset is the size of `data`: each PATCH appends
from exactly that offset and syncs what it got to disk even when the connection drops, so
the client asks `HEAD` for the offset and continues from there. When the last byte arrives
the file is streamed into the object service (one "storage" event) and the folder goes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from api.auth.principal import Principal, PrincipalKind
from api.storage.errors import ConflictError, ForbiddenError, NotFoundError, TooLargeError
from api.storage.meta import ObjectMeta
from api.storage.service import ObjectService
from eventlog.segments import write_atomic
from projections.blobs.blobstore import CHUNK_BYTES

UPLOADS_DIR = ".uploads"
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class UploadInfo:
    """A resumable upload as created; `offset` is filled in from the data file."""

    id: str
    bucket: str
    name: str
    length: int
    content_type: str | None
    metadata: dict[str, Any]
    kind: str
    principal_id: str
    namespace: str | None
    sub: str | None
    offset: int = field(default=0, compare=False)
    replace: bool = True
    """Whether finishing may replace an existing object (False: create only, 409 if one
    appeared meanwhile)."""

    def principal(self) -> Principal:
        return Principal(
            kind=cast(PrincipalKind, self.kind),
            id=self.principal_id,
            namespace=self.namespace,
            sub=self.sub,
        )


class Uploads:
    """The resumable uploads in progress under one folder."""

    def __init__(self, root: Path, service: ObjectService, max_pending: int = 0) -> None:
        self.root = root
        self.service = service
        self.max_pending = max_pending
        """Unfinished uploads one principal may hold (0: no cap): each may grow to the
        object size limit on disk until it is finished or abandoned."""
        root.mkdir(parents=True, exist_ok=True)

    def create(
        self,
        principal: Principal,
        bucket: str,
        name: str,
        length: int,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        replace: bool = True,
    ) -> UploadInfo:
        """Start an upload once the principal may write the object, its length fits, it
        holds fewer than `max_pending` unfinished uploads (else `ConflictError`) and, unless
        `replace`, the object does not exist (else `ConflictError`)."""
        _, existing, _ = self.service.check_write(
            principal, bucket, name, length, metadata or {}, content_type
        )
        if existing is not None and not replace:
            raise ConflictError(f"object {bucket}/{name} exists")
        self._check_pending(principal)
        info = UploadInfo(
            id=uuid.uuid4().hex,
            bucket=bucket,
            name=name,
            length=length,
            content_type=content_type,
            metadata=dict(metadata or {}),
            kind=principal.kind,
            principal_id=principal.id,
            namespace=principal.namespace,
            sub=principal.sub,
            replace=replace,
        )
        folder = self.root / info.id
        folder.mkdir()
        (folder / "data").touch()
        write_atomic(folder / "info.json", json.dumps(asdict(info)).encode())
        return info

    def get(self, principal: Principal, upload_id: str) -> UploadInfo:
        """The upload and its offset; only its creator may see it (the same identity: kind,
        namespace and id, so a user of another namespace with the same subject may not)."""
        folder = self._folder(upload_id)
        try:
            fields = json.loads((folder / "info.json").read_bytes())
            offset = (folder / "data").stat().st_size
        except FileNotFoundError as exc:
            raise NotFoundError(f"no upload {upload_id}") from exc
        info = UploadInfo(**{**fields, "offset": offset})
        if info.principal().key != principal.key:
            raise ForbiddenError("the upload belongs to another principal")
        return info

    def append(
        self, principal: Principal, upload_id: str, offset: int, chunks: Iterable[bytes]
    ) -> UploadInfo:
        """Append a PATCH body at `offset` (which must be the current offset). Whatever
        arrives is kept, even if the body is cut short."""
        info = self.get(principal, upload_id)
        if offset != info.offset:
            raise ConflictError(f"upload is at offset {info.offset}, not {offset}")
        received = offset
        with open(self._folder(upload_id) / "data", "ab") as handle:
            try:
                for chunk in chunks:
                    received += len(chunk)
                    if received > info.length:
                        raise TooLargeError(f"upload is longer than its length {info.length}")
                    handle.write(chunk)
            finally:
                handle.flush()
                os.fsync(handle.fileno())
        return self.get(principal, upload_id)

    def finish(self, info: UploadInfo) -> ObjectMeta:
        """Store a complete upload as its object and forget the upload."""
        folder = self._folder(info.id)
        with open(folder / "data", "rb") as handle:
            chunks = iter(lambda: handle.read(CHUNK_BYTES), b"")
            stored = self.service.put_object(
                info.principal(),
                info.bucket,
                info.name,
                chunks,
                info.length,
                info.content_type,
                info.metadata,
                info.replace,
            )
        shutil.rmtree(folder)
        return stored

    def delete(self, principal: Principal, upload_id: str) -> None:
        """Abandon an upload (TUS termination)."""
        self.get(principal, upload_id)
        shutil.rmtree(self._folder(upload_id))

    def _check_pending(self, principal: Principal) -> None:
        if self.max_pending <= 0:
            return
        pending = 0
        for info_file in self.root.glob("*/info.json"):
            try:
                owner = UploadInfo(**json.loads(info_file.read_bytes())).principal()
            except (FileNotFoundError, ValueError, TypeError):
                continue  # finished or abandoned meanwhile
            pending += owner.key == principal.key
        if pending >= self.max_pending:
            raise ConflictError(
                f"{pending} unfinished uploads already (at most {self.max_pending}):"
                " finish or abandon one first"
            )

    def _folder(self, upload_id: str) -> Path:
        if not _ID_RE.match(upload_id):
            raise NotFoundError(f"no upload {upload_id[:40]}")
        return self.root / upload_id
