"""``serve --pin-cpus``: each server process on a CPU of its own.

An event-loop server is one busy thread per process. On two cores shared with
PostgreSQL, the machine made about three times as many CPU migrations with SCView
unpinned as pinned, and an A/B gave the pinned server 10-24% more POSTs/s; the
benchmark's own runs showed less (BENCHMARKS.md, "One write per response"). It is a
deployment choice, as nginx's ``worker_cpu_affinity``, so it is off unless asked for.
"""

from __future__ import annotations

import os
import socket

PIN_VARIABLE = "STAFFSYNC_PIN_CPUS"  # set by serve for the worker processes it starts
_holds: list[socket.socket] = []  # kept for the life of the process


def pin_to_a_free_cpu(group: int) -> int | None:
    """Pin this process to the first CPU it may run on that no other process of
    ``group`` (the server's main process id) holds, and return it; None when every CPU
    is held (more workers than CPUs) or the system cannot pin.

    A CPU is held by binding a Unix socket in Linux's abstract namespace: no file is
    left behind, and the hold ends with the process, so a worker started again in its
    place takes its CPU.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    for cpu in sorted(os.sched_getaffinity(0)):
        hold = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            hold.bind(f"\0staffsync-cpu-{group}-{cpu}")
        except OSError:  # another process of the group holds it
            hold.close()
            continue
        _holds.append(hold)
        os.sched_setaffinity(0, {cpu})
        return cpu
    return None
