"""Load-generating clients for ``api_load.py``: one thread and one keep-alive connection each.

Latency is measured around the whole request (send, server, read). A create whose connection
breaks is retried with the same ``Idempotency-Key``, as a real integration would, so an
acknowledged case is never created twice and a lost answer never loses a case.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientStats", "LoadClient", "percentile"]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class ClientStats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    created: list[int] = field(default_factory=list)  # ids acknowledged with 201
    transitions: list[tuple[int, str]] = field(default_factory=list)  # (case id, stage) 200s
    retries: int = 0

    def merge(self, other: ClientStats) -> None:
        for op, values in other.latencies.items():
            self.latencies.setdefault(op, []).extend(values)
        self.errors.update(other.errors)
        self.created.extend(other.created)
        self.transitions.extend(other.transitions)
        self.retries += other.retries


class LoadClient(threading.Thread):
    """Open cases for as long as the run lasts; move every ``move_every``-th one a stage on."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        token: str,
        payload: dict[str, Any],
        checklist: list[str],
        to_stage: str,
        move_every: int,
        replay_every: int,
        start_at: float,
        stop_at: float,
    ) -> None:
        super().__init__(daemon=True)
        self.host, self.port = host, port
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.payload = payload
        self.checklist = checklist
        self.to_stage = to_stage
        self.move_every = move_every
        self.replay_every = replay_every
        self.start_at, self.stop_at = start_at, stop_at
        self.stats = ClientStats()
        self.conn: http.client.HTTPConnection | None = None

    def _request(
        self, op: str, method: str, url: str, body: dict[str, Any], extra: dict[str, str]
    ) -> tuple[int, bytes] | None:
        data = json.dumps(body).encode()
        started = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request(method, url, body=data, headers={**self.headers, **extra})
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.stats.errors[f"{op}: connection ({type(exc).__name__})"] += 1
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None
        self.stats.latencies.setdefault(op, []).append(time.perf_counter() - started)
        if response.status >= 400:
            text = raw.decode(errors="replace")
            kind = (
                "database is locked" if "database is locked" in text else f"HTTP {response.status}"
            )
            self.stats.errors[f"{op}: {kind}"] += 1
        return response.status, raw

    def _create(self, n: int) -> dict[str, Any] | None:
        key = str(uuid.uuid4())
        body = {**self.payload, "title": f"{self.payload['title']} #{n}"}
        for attempt in range(3):
            if attempt:
                self.stats.retries += 1
            result = self._request("create", "POST", "/api/cases/", body, {"Idempotency-Key": key})
            if result is None:
                continue
            status, raw = result
            if status in (200, 201):
                case = json.loads(raw)
                if status == 201 or attempt:
                    self.stats.created.append(int(case["id"]))
                if self.replay_every and n % self.replay_every == 0:
                    self._replay(body, key, int(case["id"]))
                return case  # type: ignore[no-any-return]
            return None
        return None

    def _replay(self, body: dict[str, Any], key: str, case_id: int) -> None:
        """Send the same create again with the same key: the first answer must come back."""
        result = self._request("replay", "POST", "/api/cases/", body, {"Idempotency-Key": key})
        if result is not None and result[0] == 201 and json.loads(result[1])["id"] != case_id:
            self.stats.errors["replay: answered with another case"] += 1

    def _move(self, case: dict[str, Any]) -> None:
        """Tick the stage's checklist, then move the case one stage on."""
        number = case["number"]
        for item in self.checklist:
            result = self._request(
                "check", "POST", f"/api/cases/{number}/checklist", {"item": item}, {}
            )
            if result is None or result[0] != 200:
                return
        body = {"to_stage": self.to_stage, "expected_version": len(self.checklist) + 1}
        result = self._request("transition", "POST", f"/api/cases/{number}/transitions", body, {})
        if result is not None and result[0] == 200:
            self.stats.transitions.append((int(case["id"]), self.to_stage))

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        n = 0
        while time.monotonic() < self.stop_at:
            n += 1
            case = self._create(n)
            if case is not None and self.move_every and n % self.move_every == 0:
                self._move(case)
        if self.conn is not None:
            self.conn.close()
