"""Claims that name the process holding them, so a claim left by a killed process is taken
over at once on its own host instead of waiting out a lease.

A lease alone cannot tell a slow sender from a dead one: a delivery claimed by a worker that
was killed with SIGKILL sat for the whole lease (minutes) before anything sent it. A claim
token here is `<hostname>:<pid>:<random>`; on the same host, a token whose process is gone
(or a zombie) is stale. On another host nothing can be known, and the lease still decides.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs here; a zombie (killed, not yet reaped: a container's PID 1 may
    never reap) counts as dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rpartition(")")[2].split()[0] != "Z"


def new_claim_token() -> str:
    """A token naming this process: `<hostname>:<pid>:<random hex>`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"


def claim_holder_gone(token: str | None) -> bool:
    """Whether the process that made `token` is provably gone (same host, dead pid). A token
    of another host, or of an older format without a pid, is never judged gone here."""
    if not token:
        return False
    host, _, rest = token.partition(":")
    pid_text, sep, _ = rest.partition(":")
    if not sep or host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not pid_alive(int(pid_text))
