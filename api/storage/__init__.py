"""Object storage: buckets and objects whose metadata lives in the log, bytes in a blob store.

The bytes are kept by the blob layer (`projections.blobs`: local disk under data/objects/
by default, or S3 with a local cache); `settings` chooses which.

- `settings`: where objects and the archive go (`--s3-*`, `BKG_S3_*`, `BKG_STORAGE_*`).
- `names`: validation of bucket and object names (no traversal out of a bucket).
- `meta`: "storage" events folded into the projection (buckets, objects), read back.
- `access`: object policies (`/policy` entries on `storage.objects`) and namespaces.
- `service`: `ObjectService`, what the HTTP routes call: upload, download, list, copy, delete.
- `presign`: URLs signed by bkg-db (HMAC) that grant one GET or PUT until they expire.
- `tus`: resumable uploads (TUS 1.0 core + creation), parked under data/objects/.uploads/.
- `backup`: local blobs in the continuous S3 archive, and back into data/objects/ on restore.

Exceptions (`api.storage.errors`), translated to HTTP only in `api.http.errors`::

    StorageError
    ├── NotFoundError              unknown bucket, object or upload       404 NOT_FOUND
    ├── BadObjectRequestError      can never succeed as sent              400 BAD_REQUEST
    │   ├── InvalidKeyError        empty, too long, or escapes its bucket
    │   ├── TooLargeError          over the size limit                    413
    │   ├── BadMimeTypeError       a type the bucket does not allow       415
    │   └── RangeNotSatisfiableError                                      416
    ├── ConflictError              bucket exists, wrong upload offset      409 CONFLICT
    └── ForbiddenError             policy says no, bad or expired signed URL  403 FORBIDDEN

The blob stores' errors (`projections.blobs.errors`) reach the same routes::

    BlobError
    ├── BlobNotFoundError          an object's blob is missing            404 NOT_FOUND
    ├── BlobConflictError          a blob key clashes with a folder       409 CONFLICT
    ├── LengthMismatchError        body length differs from the announced one  400 BAD_REQUEST
    └── BlobUnavailableError       S3 failed; nothing recorded            503 UNAVAILABLE
"""
