"""Headers that keep stored objects from running as active content on the API's origin.

The dashboard is served by the same origin as the objects, so an uploaded HTML or SVG page
opened inline would run with the admin's session. Every object response therefore says
`X-Content-Type-Options: nosniff` (no guessing a type the uploader did not declare) and
carries a `Content-Security-Policy` that loads nothing and sandboxes the document (a unique
origin, no scripts); and any type a browser could render as a document or script --
everything outside a short list of passive media -- is sent as an attachment, so it is
saved rather than opened. Supabase Storage answers `text/html` as `text/plain` instead;
keeping the stored type and forcing a download serves clients that rely on it.
"""

from __future__ import annotations

from urllib.parse import quote

OBJECT_CSP = "default-src 'none'; sandbox"
# Types a browser shows as passive media or plain text: safe inline under nosniff + CSP.
INLINE_TYPES = frozenset(
    {
        "application/json",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "text/csv",
        "text/plain",
        "video/mp4",
        "video/ogg",
        "video/webm",
    }
)


def object_headers(content_type: str | None, name: str) -> dict[str, str]:
    """The safety headers of a response carrying (or describing, for 304) object `name`."""
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": OBJECT_CSP}
    if not is_inline(content_type):
        filename = quote(name.rsplit("/", 1)[-1], safe="")
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return headers


def is_inline(content_type: str | None) -> bool:
    """Whether an object of this declared type may be shown inline; unknown types may not."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    return essence in INLINE_TYPES
