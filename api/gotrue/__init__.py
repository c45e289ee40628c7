"""End-user accounts: the GoTrue-compatible `/auth/v1` of the Supabase clients.

Users sign up and in with an email and a password under the namespace of the `apikey` they
present; they get an access token (our user JWT, role `authenticated`) and a refresh token.
Users, identities, sessions, refresh tokens and recovery tokens are "accounts" records of
the log, folded into `_bkg_auth_*` tables (`records`), so a rebuild, a restore and a
replica have them; secrets are kept only as hashes.

- ``settings``: password, metadata and token limits (`AccountSettings`);
- ``errors``: GoTrue's error bodies;
- ``passwords``: argon2id hashes;
- ``records``: the record format and its fold; ``state``: reading the folded tables;
- ``shapes``: users and sessions as GoTrue renders them;
- ``door``: a request's namespace, reads, record and signed-in user; ``sessions``: opening
  and ending sessions, access tokens;
- ``flows``: sign-up, sign-in, refresh, the user, sign-out; ``recovery``: recover and verify;
  ``admin``: the admin routes;
- ``inputs``: validation of what clients send;
- ``routes``: the `/auth/v1` router.
"""
