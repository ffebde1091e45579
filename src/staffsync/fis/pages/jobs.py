"""Run Sync for all users in a background thread of the FIS process, so that the page
can show live progress (done / total) while the run goes on.

One run at a time per process: pressing Run Sync during a run shows the running one.
Only the last ``KEEP`` jobs are remembered; the run itself is kept as sync history in
the database, so nothing is lost when a job is forgotten or the server restarts.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from staffsync.kit.errors import NotFound, StaffsyncError

log = logging.getLogger(__name__)
KEEP = 20
Progress = Callable[[int, int], None]
Work = Callable[[Progress], dict[str, Any]]


class JobNotFound(NotFound):
    """That sync run is no longer shown here. See Sync history for every run."""


@dataclass
class Job:
    """A Run Sync in progress or finished: ``run`` is the service's run dict; ``problem``
    is the message and resolution when the run could not start or crashed."""

    id: str
    done: int = 0
    total: int = 0
    finished: bool = False
    run: dict[str, Any] | None = None
    problem: dict[str, str] | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


class Jobs:
    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, work: Work) -> Job:
        """A new job running ``work(progress)``, or the one still running."""
        with self._lock:
            running = next((j for j in self._jobs.values() if not j.finished), None)
            if running is not None:
                return running
            job = Job(uuid.uuid4().hex)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                self._jobs.popitem(last=False)
        job.thread = threading.Thread(target=_run, args=(job, work), daemon=True,
                                      name=f"run-sync-{job.id[:8]}")
        job.thread.start()
        return job

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound()
        return job


def _run(job: Job, work: Work) -> None:
    try:
        job.run = work(job.progress)
    except StaffsyncError as error:  # e.g. User Sync is not set up
        job.problem = {"message": error.message, "resolution": ""}
    except Exception:  # a thread has no caller to tell: log it, and say so on the page
        log.exception("Run Sync stopped unexpectedly")
        job.problem = {"message": "The sync stopped unexpectedly.",
                       "resolution": "Run the sync again; if it keeps failing, ask your "
                                     "system administrator to check the FIS server log."}
    finally:
        job.finished = True
