"""Webhooks: signed JSON POSTs (e.g. ``key.rotated``) with retries and exponential backoff.

The body is JSON; the header ``X-Bkg-Signature: t=<unix seconds>,v1=<hex>`` carries
HMAC-SHA256 over ``"<t>.<body>"`` with the shared webhook secret, so a receiver can check
both origin and freshness (:func:`verify_signature`, which rejects stale timestamps and
compares in constant time). Transport errors, 429 and 5xx answers are retried after
``base_delay_s * 2**n`` (capped at ``max_delay_s``); other 4xx answers are final.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Bkg-Signature"
EVENT_HEADER = "X-Bkg-Event"


@dataclass(frozen=True)
class WebhookConfig:
    """Where and how to deliver."""

    url: str
    secret: bytes
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 5.0


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended: ``status`` of the last answer (None if none came)."""

    delivered: bool
    attempts: int
    status: int | None
    error: str | None = None


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: bytes, header: str, body: bytes, now: float | None = None, tolerance_s: float = 300.0
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is not older than tolerance."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookSender:
    """Delivers events to one URL, synchronously or from async code."""

    def __init__(self, config: WebhookConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self._config = config
        self._sleep = sleep

    def send(self, event: str, payload: Mapping[str, Any]) -> Delivery:
        """POST the event, retrying as configured; never raises for delivery failures."""
        body, headers = self._request(event, payload)
        with httpx.Client(timeout=self._config.timeout_s) as client:
            attempt = 1
            while True:
                try:
                    last = _answered(
                        attempt, client.post(self._config.url, content=body, headers=headers)
                    )
                except httpx.HTTPError as exc:
                    last = _failed(attempt, exc)
                wait = self._wait_before_retry(last)
                if wait is None:
                    return last
                self._sleep(wait)
                attempt += 1

    async def send_async(self, event: str, payload: Mapping[str, Any]) -> Delivery:
        """Like :meth:`send`, without blocking the event loop."""
        body, headers = self._request(event, payload)
        async with httpx.AsyncClient(timeout=self._config.timeout_s) as client:
            attempt = 1
            while True:
                try:
                    response = await client.post(self._config.url, content=body, headers=headers)
                    last = _answered(attempt, response)
                except httpx.HTTPError as exc:
                    last = _failed(attempt, exc)
                wait = self._wait_before_retry(last)
                if wait is None:
                    return last
                await asyncio.sleep(wait)
                attempt += 1

    def _wait_before_retry(self, last: Delivery) -> float | None:
        """Seconds to wait before the next attempt, or None when ``last`` is final."""
        if last.delivered or not _retryable(last) or last.attempts >= self._config.max_attempts:
            return None
        return self.delay(last.attempts)

    def delay(self, attempt: int) -> float:
        """Backoff before retry number ``attempt`` (1-based): doubling, capped."""
        return float(min(self._config.max_delay_s, self._config.base_delay_s * 2 ** (attempt - 1)))

    def _request(self, event: str, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"type": event, "data": dict(payload)}, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            SIGNATURE_HEADER: sign(self._config.secret, body, int(time.time())),
        }
        return body, headers


def _answered(attempt: int, response: httpx.Response) -> Delivery:
    return Delivery(200 <= response.status_code < 300, attempt, response.status_code)


def _failed(attempt: int, exc: httpx.HTTPError) -> Delivery:
    return Delivery(False, attempt, None, str(exc) or type(exc).__name__)


def _retryable(delivery: Delivery) -> bool:
    """Transport failures, 429 and 5xx may succeed later; other answers will not."""
    return delivery.status is None or delivery.status == 429 or delivery.status >= 500


def rotation_payload(rotated: Mapping[str, Any]) -> dict[str, Any]:
    """What a ``key.rotated`` webhook tells: ids, prefix and times, never a key or hash."""
    new = rotated["new"]
    return {
        "old_id": rotated["old_id"],
        "new_id": new["id"],
        "new_prefix": new["prefix"],
        "scope": new["scope"],
        "namespace": new["namespace"],
        "rotated_at": rotated["rotated_at"],
        "grace_until": rotated["grace_until"],
    }
