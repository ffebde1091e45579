"""Rich output for a sync all: a progress bar to attach to ``sync_all`` and summary tables.

Pure of FIS: the CLI (``staffsync sync all``, ``staffsync demo``) passes the callback of
``progress_bar`` as ``sync_all(progress=...)`` and prints ``report_table`` at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from staffsync.sync.executor import Progress as ProgressCallback
from staffsync.sync.executor import RunReport
from staffsync.sync.plan import Plan

FAILURES_SHOWN = 20  # the summary lists the first failures; the run record keeps them all
STEPS_SHOWN = 20  # a dry run lists the first planned changes, then "and N more"
FIELD_NAMES = {
    "external_id": "Staff key", "user_name": "Username", "employee_number": "Employee ID",
    "given_name": "First Name", "family_name": "Last Name", "email": "Email",
    "phone": "Phone Number", "phone_type": "Phone Type", "active": "Status",
}


class RateColumn(ProgressColumn):
    """Users per second, as Rich measures it over its recent samples."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} users/s" if speed else "", style="progress.data.speed")


@contextmanager
def progress_bar(
    console: Console | None = None, description: str = "Syncing users"
) -> Iterator[ProgressCallback]:
    """A live bar (users done out of total, rate, ETA); yields the ``(done, total)`` callback."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def report_table(report: RunReport) -> Table:
    """One row per outcome, then each failure with its catalogue message and resolution."""
    table = Table(title="User sync to SCView")
    table.add_column("Outcome")
    table.add_column("Users", justify="right")
    table.add_column("Message")
    table.add_column("Resolution")
    for outcome, count in sorted(report.counts().items()):
        table.add_row(outcome, str(count), "", "")
    table.add_row("unknown to FIS (kept)", str(len(report.unknown)), "", "")
    failures = [r for r in report.results if r.error is not None and r.outcome == "failed"]
    for result in failures[:FAILURES_SHOWN]:
        assert result.error is not None
        table.add_row(f"failed: {result.username}", "", result.error.message,
                      result.error.resolution)
    if report.stopped is not None:
        table.add_row("run stopped", "", report.stopped.message, report.stopped.resolution)
    return table


def plan_table(plan: Plan) -> Table:
    """The dry-run view: how many users each action would touch, and the unknown users."""
    table = Table(title="Sync plan (dry run: nothing written)")
    table.add_column("Action")
    table.add_column("Users", justify="right")
    for action, count in sorted(plan.counts().items()):
        table.add_row(action, str(count))
    table.add_row("unknown to FIS (kept)", str(len(plan.unknown)))
    return table


def plan_steps_table(plan: Plan, shown: int = STEPS_SHOWN) -> Table:
    """The dry run user by user: the first ``shown`` users that would change and how."""
    changes = plan.changes
    table = Table(title="Planned changes")
    table.add_column("User")
    table.add_column("Action")
    table.add_column("Fields that change / why not")
    for step in changes[:shown]:
        why = step.error.message if step.error else ", ".join(
            FIELD_NAMES.get(name, name) for name in dict.fromkeys(step.changed))
        table.add_row(step.username, step.action.value, why)
    if len(changes) > shown:
        table.caption = f"and {len(changes) - shown:,} more"
    elif not changes:
        table.caption = "nothing to change"
    return table
