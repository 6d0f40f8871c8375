"""Who a job counts against and how much each client has used: the client key of a session (its address),
the ledger of seconds per client in a rolling window, and the check of a budget against it."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Mapping

from explorer.errors import LimitError

CLIENT_KEY_ENV = "EXPLORER_CLIENT_KEY"
CLIENT_KEY_MODES = ("ip", "forwarded", "session")


def client_key(
    owner: str, ip: str | None = None, headers: Mapping[str, str] | None = None, mode: str | None = None
) -> str:
    """Who a session's work counts against, for the budgets and the per-client worker cap.

    ``mode`` (default ``$EXPLORER_CLIENT_KEY``, else "ip"):

    - "ip": the address the connection came from (``st.context.ip_address``). Tabs and private windows
      of one browser, and several browsers on one machine, share it; a new tab does not reset a budget.
      Behind a reverse proxy every visitor has the proxy's address: use "forwarded" there.
    - "forwarded": the first address of ``X-Forwarded-For``, which the proxy in front sets. Only behind a
      proxy you run: without one, a client writes that header itself.
    - "session": each session on its own (no grouping; what tests and single-user laptops may want).

    Without an address the session's own key is used. The address is hashed (the key is only compared).
    """
    mode = (mode or os.environ.get(CLIENT_KEY_ENV, "") or "ip").strip().lower()
    if mode not in CLIENT_KEY_MODES:
        raise ValueError(f"{CLIENT_KEY_ENV}={mode!r}; choose one of: {', '.join(CLIENT_KEY_MODES)}.")
    address = None
    if mode == "forwarded" and isinstance(headers, Mapping):
        forwarded = next((v for k, v in headers.items() if str(k).lower() == "x-forwarded-for"), "")
        address = str(forwarded).split(",")[0].strip() or None
    if mode in ("ip", "forwarded") and address is None and isinstance(ip, str):
        address = ip.strip() or None
    if not address:
        return f"session:{owner}"
    return "addr:" + hashlib.blake2b(address.encode(), digest_size=8).hexdigest()


class UsageLedger:
    """Seconds of work per client in a rolling window (thread-safe): what budgets are checked against.

    Kept by the server process (with the job manager), so a new tab or session of the same client sees
    what it used; a restart of the server forgets it.
    """

    def __init__(self) -> None:
        self._entries: dict[str, deque[tuple[float, float, bool]]] = {}  # client -> (when, seconds, trains)
        self._lock = threading.Lock()

    def add(self, client: str, seconds: float, trains: bool, when: float | None = None) -> None:
        with self._lock:
            self._entries.setdefault(client, deque()).append((when or time.time(), float(seconds), trains))

    def used(self, client: str, window_s: float, trains_only: bool = False, now: float | None = None) -> float:
        now = now or time.time()
        with self._lock:
            entries = self._entries.get(client)
            if not entries:
                return 0.0
            while entries and now - entries[0][0] > window_s:
                entries.popleft()
            return sum(s for _, s, t in entries if t or not trains_only)


def check_budget(used: float, cap: float, field_name: str, what: str) -> float:
    """Seconds left of a budget; a spent one is a LimitError naming the cap and how to raise it."""
    from explorer.limits import how_to_raise

    left = float(cap) - used
    if left <= 0:
        raise LimitError(f"{what} {used:,.0f} seconds, the limit {field_name}={cap:,.0f}. {how_to_raise(field_name)}")
    return left
