"""Thread-safe records of what the bot did, shared by the server thread and test thread.

The aiohttp server appends from its own event-loop thread; tests read and block on
them from the pytest thread, so everything goes through one ``threading.Condition``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from .limits import LimitError

MESSAGE_KINDS: frozenset[str] = frozenset({"message.create", "interaction.callback", "webhook.create"})
"""Request kinds that can create a visible message."""


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part (``files[n]``) with its raw bytes."""

    field: str
    filename: Optional[str]
    content_type: Optional[str]
    data: bytes = field(repr=False)


@dataclass
class RecordedRequest:
    """A REST request the bot made, with the fake's answer.

    ``json`` is the JSON body, or the parsed ``payload_json`` part of a multipart body.
    ``kind`` classifies the route ("message.create", "message.edit", "interaction.callback",
    "webhook.create", "webhook.edit", "commands.global.bulk", "unknown", ...).
    ``message`` is the message object the request created/edited, if any.
    """

    index: int
    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile] = field(default_factory=list)
    kind: str = "other"
    status: int = 0
    response: Any = None
    channel_id: Optional[int] = None
    message_id: Optional[int] = None
    interaction_id: Optional[int] = None
    errors: list[LimitError] = field(default_factory=list)
    message: Optional[dict[str, Any]] = None
    timestamp: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def payload(self) -> dict[str, Any]:
        """The message-shaped part of the body (``data`` for interaction callbacks)."""
        body = self.json if isinstance(self.json, dict) else {}
        if self.kind == "interaction.callback":
            return body.get("data") or {}
        return body

    @property
    def response_type(self) -> Optional[int]:
        """Interaction callback type (4 message, 5 defer, 6 deferred update, 7 update, 8 autocomplete, 9 modal)."""
        if self.kind == "interaction.callback" and isinstance(self.json, dict):
            return self.json.get("type")
        return None

    @property
    def content(self) -> Optional[str]:
        return self.payload.get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.payload.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.payload.get("components") or []

    def summary(self) -> str:
        body = json.dumps(self.json, default=str)
        if len(body) > 160:
            body = body[:157] + "..."
        return f"#{self.index} {self.method} {self.path} -> {self.status} [{self.kind}] {body}"


@dataclass(frozen=True)
class Violation:
    """A payload the fake rejected (limits, allowed_mentions) or a protocol misuse
    (late/double interaction acknowledgement, follow-up before ack)."""

    kind: str
    method: str
    path: str
    errors: tuple[LimitError, ...]
    payload: Any = field(compare=False, repr=False)
    request: Optional["RecordedRequest"] = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        errs = "; ".join(str(e) for e in self.errors)
        return f"{self.kind} {self.method} {self.path}: {errs}"


class Recorder:
    """Append-only logs with blocking waits."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.RLock())
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.dropped_events: list[tuple[str, str]] = []
        self.server_errors: list[str] = []

    def next_index(self) -> int:
        with self.cond:
            return len(self.requests)

    def add_request(self, rec: RecordedRequest) -> None:
        with self.cond:
            rec.index = len(self.requests)
            self.requests.append(rec)
            if rec.kind == "unknown":
                self.unknown_routes.append(rec)
            self.cond.notify_all()

    def add_violation(self, v: Violation) -> None:
        with self.cond:
            self.violations.append(v)
            self.cond.notify_all()

    def add_gateway(self, frame: dict[str, Any]) -> None:
        with self.cond:
            self.gateway_received.append(frame)
            self.cond.notify_all()

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def clear(self) -> None:
        with self.cond:
            self.requests.clear()
            self.violations.clear()
            self.unknown_routes.clear()
            self.gateway_received.clear()
            self.dropped_events.clear()
            self.server_errors.clear()

    def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        *,
        timeout: float,
        since: int = 0,
        describe: str = "request",
    ) -> RecordedRequest:
        """Block until a request at index >= ``since`` satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        pos = since
        with self.cond:
            while True:
                while pos < len(self.requests):
                    rec = self.requests[pos]
                    pos += 1
                    if predicate(rec):
                        return rec
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(describe, timeout, since))
                self.cond.wait(remaining)

    def wait_until(self, check: Callable[[], Any], *, timeout: float, describe: str) -> Any:
        """Block until ``check()`` (called under the lock) returns something truthy."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = check()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(describe, timeout, max(0, len(self.requests) - 15)))
                self.cond.wait(min(remaining, 0.25))

    def _timeout_message(self, describe: str, timeout: float, since: int) -> str:
        recent: Iterable[RecordedRequest] = self.requests[since:][-15:]
        lines = [f"timed out after {timeout:.1f}s waiting for {describe}; requests since #{since}:"]
        lines += ["  " + r.summary() for r in recent] or ["  (none)"]
        if self.violations:
            lines.append("violations: " + "; ".join(str(v) for v in self.violations[-5:]))
        if self.server_errors:
            lines.append("fake_discord internal errors:\n" + self.server_errors[-1])
        if self.dropped_events:
            lines.append(f"gateway events dropped for missing intents: {self.dropped_events[-5:]}")
        return "\n".join(lines)
