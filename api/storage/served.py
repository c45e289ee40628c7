"""Object storage as a server holds it: the service, resumable uploads and the URL signer.

Built with the server (`api.wiring`) from its `StorageSettings`, before the first request,
and handed to the storage routes through the `Backend`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.database import Database
from api.rls.policy import PolicySet
from api.storage.presign import UrlSigner, load_url_key
from api.storage.service import ObjectService
from api.storage.settings import StorageSettings
from api.storage.tus import UPLOADS_DIR, Uploads


@dataclass(frozen=True)
class Storage:
    """What the storage handlers share: the service, resumable uploads, the URL signer."""

    service: ObjectService
    uploads: Uploads
    signer: UrlSigner

    def close(self) -> None:
        self.service.close()


def open_storage(
    db: Database, settings: StorageSettings, policies: Callable[[], PolicySet]
) -> Storage:
    """The storage of the served directory `db` (its objects where `settings` say)."""
    data = db.data
    service = ObjectService(
        db, settings.blob_store(data.objects), policies, settings.max_object_bytes
    )
    uploads = Uploads(data.objects / UPLOADS_DIR, service, settings.max_pending_uploads)
    return Storage(service, uploads, UrlSigner(load_url_key(data.keys)))
