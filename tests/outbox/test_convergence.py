"""Convergence under faults, as a Hypothesis state machine on both backends.

Random sequences of HR edits (through the FIS services, some landing while a write is
in flight), SCView faults on the wire
(connection refused, 500, slow answers that time out, writes whose answers are lost),
duplicate deliveries (two workers at once, a lost answer pushed again), worker restarts
and workers that die holding claims, and time passing. Once the faults stop and the
outbox drains, SCView holds exactly FIS's mapping: no lost update, no duplicate user.
"""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from tempfile import mkdtemp

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from staffsync.fis import staff
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.sync import outbox
from staffsync.sync.worker import Worker, WorkerConfig
from tests.outbox.conftest import Clock, configure, mismatches
from tests.outbox.factories import add_staff, drain, edit
from tests.outbox.scview_faults import LiveScview
from tests.sync_run.conftest import FisTemplates

# A short client timeout, so that a "slow" SCView (0.3 s) is a timeout.
CONFIG = WorkerConfig(reconcile_every=None, concurrency=3, batch=10, timeout=0.25,
                      lease=timedelta(seconds=30))
NAMES = st.sampled_from(["Ava", "Ben", "Cai", "Dee", "Eli", "Fay"])
FAULTS = st.sampled_from(["down", "500", "slow", "lose", "429"])


class Convergence(RuleBasedStateMachine):
    def __init__(self, templates: FisTemplates, backend: str, scview: LiveScview) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.scview = scview
        scview.reset()
        self.target = scview.tenant()
        folder = Path(mkdtemp())
        self.stack.callback(shutil.rmtree, folder, ignore_errors=True)
        url = self.stack.enter_context(templates.copy(backend, folder))
        engine = make_engine(url, hide_parameters=True)
        self.stack.callback(engine.dispose)
        self.fis = session_factory(engine)
        configure(self.fis, self.target.end_point, self.target.database, self.target.token)
        self.clock = Clock()
        self.workers = [self._worker(), self._worker()]
        self.staff: list[str] = []

    def _worker(self) -> Worker:
        worker = Worker(self.fis, CONFIG, clock=self.clock)
        self.stack.callback(worker.close)
        return worker

    # -- HR edits ------------------------------------------------------------------------

    @rule(name=NAMES)
    def add(self, name: str) -> None:
        self.staff.append(add_staff(self.fis, first_name=name)[0])

    @precondition(lambda self: self.staff)
    @rule(data=st.data(), name=NAMES)
    def rename(self, data: st.DataObject, name: str) -> None:
        edit(self.fis, data.draw(st.sampled_from(self.staff)), first_name=name)

    @precondition(lambda self: self.staff)
    @rule(data=st.data(), active=st.booleans())
    def set_status(self, data: st.DataObject, active: bool) -> None:
        status = "active" if active else "inactive"
        edit(self.fis, data.draw(st.sampled_from(self.staff)), staff_status=status)

    @precondition(lambda self: self.staff)
    @rule(data=st.data(), name=NAMES)
    def new_last_name(self, data: st.DataObject, name: str) -> None:
        staff_id = data.draw(st.sampled_from(self.staff))
        with transaction(self.fis) as session:
            if staff.get(session, staff_id).last_name != name:
                staff.change_last_name(session, staff_id, name, "marriage", "hr")

    @precondition(lambda self: self.staff)
    @rule(data=st.data(), name=NAMES, which=st.integers(0, 1))
    def edit_during_push(self, data: st.DataObject, name: str, which: int) -> None:
        """An HR edit lands while a worker's write is held at SCView's door."""
        staff_id = data.draw(st.sampled_from(self.staff))
        self.heal()
        held = self.scview.faulty.held
        self.scview.faulty.mode = "hold"
        pushing = threading.Thread(target=self.workers[which].run_once)
        pushing.start()
        while pushing.is_alive() and self.scview.faulty.held == held:
            time.sleep(0.005)  # until a write is in flight (or the round had none)
        edit(self.fis, staff_id, first_name=name)
        self.scview.faulty.mode = None  # the held write goes on, with the older values
        pushing.join()

    # -- faults and workers --------------------------------------------------------------

    @rule(fault=FAULTS)
    def break_scview(self, fault: str) -> None:
        self.heal()
        if fault == "down":
            self.scview.down()
        else:
            self.scview.faulty.mode = fault
            self.scview.faulty.retry_after = "1"

    @rule()
    def heal(self) -> None:
        self.scview.faulty.mode = None
        self.scview.up()

    @rule(which=st.integers(0, 1))
    def round(self, which: int) -> None:
        self.workers[which].run_once()

    @rule()
    def two_workers_at_once(self) -> None:
        threads = [threading.Thread(target=w.run_once) for w in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    @rule(which=st.integers(0, 1))
    def restart(self, which: int) -> None:
        self.workers[which] = self._worker()

    @rule(count=st.integers(1, 5))
    def die_holding_claims(self, count: int) -> None:
        """A worker claims rows, then dies before pushing them."""
        with transaction(self.fis) as session:
            outbox.claim(session, "dead-worker", self.clock(), CONFIG.lease, count)

    @rule(seconds=st.sampled_from([0.5, 5, 45, 400]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def teardown(self) -> None:
        try:
            self.heal()
            drain(self.workers[0], self.clock)
            assert mismatches(self.fis, self.target) == []
        finally:
            self.stack.close()


def test_scview_converges_to_fis_under_faults(fis_templates: FisTemplates, backend: str,
                                              scview: LiveScview) -> None:
    run_state_machine_as_test(
        lambda: Convergence(fis_templates, backend, scview),
        settings=settings(max_examples=30, stateful_step_count=15, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
