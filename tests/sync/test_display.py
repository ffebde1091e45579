"""The Rich progress bar and summary tables, rendered to a recording console."""

from __future__ import annotations

import re
import time

from rich.console import Console

from staffsync.sync import catalogue as c
from staffsync.sync.display import plan_steps_table, plan_table, progress_bar, report_table
from staffsync.sync.executor import RunReport
from staffsync.sync.mapping import to_scim
from staffsync.sync.plan import make_plan
from staffsync.sync.push import Outcome, Result
from tests.sync.factories import snapshot


def console() -> Console:
    return Console(record=True, width=200, force_terminal=False)


def test_progress_bar_shows_done_out_of_total_rate_and_eta() -> None:
    out = console()
    with progress_bar(out) as update:
        update(0, 10)
        time.sleep(0.2)  # Rich measures the rate over time: give it two samples apart
        update(4, 10)
        time.sleep(0.2)
        update(10, 10)
    (line,) = out.export_text().splitlines()  # the bar as it was left: done, rate, ETA
    assert re.search(r"Syncing users .* 10/10 +\d[\d,]* users/s +\d+:\d\d:\d\d$", line), line


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


def test_plan_steps_table_names_each_user_and_the_fields_that_change() -> None:
    drifted = to_scim(snapshot(2))
    drifted["name"]["givenName"] = "Changed in SCView"
    drifted["phoneNumbers"] = []
    remote = [{"id": "r2", **drifted}, {"id": "r3", **to_scim(snapshot(3))}]
    fresh = [snapshot(n) for n in range(10, 40)]
    plan = make_plan([snapshot(2), snapshot(3), *fresh], remote)
    out = console()
    out.print(plan_steps_table(plan, shown=5))
    text = out.export_text()
    (row,) = [line for line in text.splitlines() if "user2 " in line]
    assert "update" in row and "First Name, Phone Number, Phone Type" in row
    assert "user3 " not in text  # unchanged users are not listed
    assert sum(" create " in line for line in text.splitlines()) == 4
    assert "and 26 more" in text
