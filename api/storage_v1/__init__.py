"""`/storage/v1`: Supabase Storage's HTTP API over bkg-db's object service.

The official clients (`storage3` in `supabase-py`, `storage-js` in `supabase-js`) speak it
unmodified. Everything a request does goes through `api.storage` exactly as our own
`/storage` routes do: the same buckets and objects, the same object policies, the same log
events, the same signed grants (`api.storage.presign`) carried in a `token` parameter.

- `context`: the server's storage, the caller, the object path as sent, a worker thread.
- `errors`: Supabase's error body `{"statusCode", "error", "message"}` for every failure.
- `shapes`: buckets, objects and listing entries as Supabase answers them.
- `bodies`: the JSON request bodies, bounded and validated.
- `tokens`: signed grants as one opaque `token` query parameter.
- `form`: a `multipart/form-data` upload streamed into the object service.
- `listing`: one folder level of a bucket, searched, sorted and paged.
- `buckets`: the `/bucket` routes.
- `transfers`: downloads (authenticated, public, signed), info, and uploads.
- `signing`: signed download and upload URLs.
- `resumable`: TUS uploads at `/upload/resumable` over `api.storage.tus`.
- `routes`: the router mounted at `/storage/v1`, the `/object/...` dispatch, listing,
  removal, move and copy.
"""
