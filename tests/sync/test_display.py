"""The Rich progress bar and summary tables, rendered to a recording console."""

from __future__ import annotations

from rich.console import Console

from staffsync.sync import catalogue as c
from staffsync.sync.display import plan_table, progress_bar, report_table
from staffsync.sync.executor import RunReport
from staffsync.sync.plan import make_plan
from staffsync.sync.push import Outcome, Result
from tests.sync.factories import snapshot


def console() -> Console:
    return Console(record=True, width=200, force_terminal=False)


def test_progress_bar_shows_done_out_of_total() -> None:
    out = console()
    with progress_bar(out) as update:
        for done in range(0, 11):
            update(done, 10)
    assert "10/10" in out.export_text()


def test_report_table_names_each_failure_with_its_resolution() -> None:
    report = RunReport(
        total=3,
        results=[
            Result("user1", Outcome.CREATED),
            Result("user2", Outcome.UNCHANGED),
            Result("user3", Outcome.FAILED, error=c.MissingRequiredFields(["Email Address"])),
        ],
        unknown=["stranger"],
        stopped=c.ServiceDown("connection refused"),
    )
    out = console()
    out.print(report_table(report))
    text = out.export_text()
    for expected in ("created", "unchanged", "failed: user3",
                     "Missing Required fields: Email Address",
                     "Update the appropriate fields and save again or run the sync again.",
                     "unknown to FIS (kept)", "run stopped", "Error when their service is down."):
        assert expected in text


def test_plan_table_counts_actions() -> None:
    out = console()
    out.print(plan_table(make_plan([snapshot(1), snapshot(2)], [])))
    text = out.export_text()
    (row,) = [line for line in text.splitlines() if "create" in line]
    assert row.split()[-2:] == ["2", "│"] and "dry run" in text
