"""The systemd notification protocol, without a dependency on systemd being there.

`Type=notify` services tell systemd they are ready (`READY=1`), alive (`WATCHDOG=1`) and
stopping (`STOPPING=1`) by sending a datagram to the socket named in `$NOTIFY_SOCKET`. Outside
systemd (a terminal, Docker, a test) the variable is absent and every call does nothing.
"""

from __future__ import annotations

__all__ = ["notify", "watchdog_interval"]

import os
import socket


def notify(*states: str) -> bool:
    """Send `states` (e.g. "READY=1") to systemd; return whether there was anyone to tell."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        # An abstract socket: the name starts with a NUL byte instead of "@".
        address = "\0" + address[1:]
    message = "\n".join(states).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(message)
        except OSError:
            # systemd went away (or never listened): carry on, the daemon does not need it.
            return False
    return True


def watchdog_interval() -> float | None:
    """Return how often to send WATCHDOG=1 (half of WatchdogSec), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        seconds = int(usec) / 1_000_000
    except ValueError:
        return None
    return seconds / 2 if seconds > 0 else None
