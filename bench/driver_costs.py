"""What one SCIM request's statements cost on PostgreSQL, in the shapes SCView could send.

    python -m bench.driver_costs [--runs 3000]

On a fresh database with SCView's schema and 1,000 users of one tenant, one psycopg
connection runs each shape ``--runs`` times; the table gives, per request, the wall time,
the CPU of this (client) process and the CPU of the PostgreSQL backend serving it (read
from ``/proc``, so the server must run on this machine). The shapes:

- GET by userName: the paged query with the total on each row (``count(*) OVER ()``,
  LIMIT, OFFSET), against the plain query on the unique column;
- a statement through ``Connection.execute`` (a new cursor each time), against a cursor
  kept open;
- PUT: BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT, against a read and an UPDATE
  ``WHERE version = <read>`` in autocommit;
- POST: BEGIN, INSERT of the user, INSERT of its e-mail, COMMIT, against one statement
  (the e-mail insert a CTE of the user's) in autocommit.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.scim_throughput import scview_database

USERS = 1000
RESOURCE = ('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",'
            '"name":{"givenName":"Bench","familyName":"User"},"emails":[{"value":"%s",'
            '"type":"work","primary":true}],"active":true}')
COLUMNS = ("id, tenant_id, user_name, external_id, employee_number, family_name, active,"
           " created, last_modified, version, resource")
INSERT = (f"INSERT INTO scim_users ({COLUMNS}) VALUES (%(id)s, %(tenant)s, %(name)s, NULL,"
          " %(number)s, 'user', true, now(), now(), 1, %(resource)s)")
INSERT_EMAIL = ('INSERT INTO scim_emails (user_id, value, type, "primary")'
                " VALUES (%(id)s, %(name)s, 'work', true)")
INSERT_BOTH = (f"WITH written AS ({INSERT} RETURNING id), added AS (INSERT INTO scim_emails"
               ' (user_id, value, type, "primary") SELECT written.id, mail.value, \'work\', true'
               " FROM written CROSS JOIN unnest(CAST(%(mails)s AS VARCHAR[])) AS mail(value))"
               " SELECT id FROM written")
PAGED = ("SELECT CAST(resource AS TEXT), count(*) OVER () FROM scim_users WHERE tenant_id ="
         " %(tenant)s AND user_name = %(name)s ORDER BY user_name LIMIT %(limit)s OFFSET 0")
PLAIN = ("SELECT CAST(resource AS TEXT) FROM scim_users WHERE tenant_id = %(tenant)s"
         " AND user_name = %(name)s")
READ = ("SELECT CAST(resource AS TEXT), version FROM scim_users WHERE tenant_id = %(tenant)s"
        " AND id = %(id)s")
UPDATE = ("UPDATE scim_users SET family_name = %(family)s, last_modified = now(),"
          " version = version + 1, resource = %(resource)s WHERE id = %(id)s")


def cpu_seconds(pid: int | None = None) -> float:
    """User plus system CPU of this process, or of process ``pid``."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, url: str, runs: int) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.cur = self.conn.cursor()
        self.backend = int(self.cur.execute("SELECT pg_backend_pid()").fetchone()[0])
        self.runs = runs
        self.tenant = self.cur.execute(
            "INSERT INTO tenants (name, token_hash, created) VALUES ('bench', 'x', now())"
            " RETURNING id").fetchone()[0]
        self.ids = []
        for index in range(USERS):
            self.ids.append(self.post_in_one(f"seed-{index}@bench.example"))
        self.cur.execute("ANALYZE")
        self.counter = 0

    def measure(self, label: str, step: Callable[[int], Any]) -> str:
        for index in range(100):  # warm up (psycopg prepares a statement on its 5th run)
            step(index)
        wall, client, server = time.perf_counter(), cpu_seconds(), cpu_seconds(self.backend)
        for index in range(self.runs):
            step(index)
        per = 1e6 / self.runs
        return (f"| {label} | {(time.perf_counter() - wall) * per:.0f} | "
                f"{(cpu_seconds() - client) * per:.0f} | "
                f"{(cpu_seconds(self.backend) - server) * per:.0f} |")

    def name(self, index: int) -> str:
        return f"seed-{index % USERS}@bench.example"

    def new_name(self) -> str:
        self.counter += 1
        return f"new-{self.counter}-{uuid.uuid4().hex[:6]}@bench.example"

    def post_in_one(self, name: str) -> str:
        values = self.values(name)
        self.cur.execute(INSERT_BOTH, {**values, "mails": [name]})
        return str(values["id"])

    def values(self, name: str) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "tenant": self.tenant, "name": name,
                "number": name, "resource": RESOURCE % (name, name)}

    def rows(self) -> list[str]:
        cur, conn = self.cur, self.conn
        update = {"family": "x", "resource": RESOURCE % ("u", "u")}

        def put_locked(index: int) -> None:
            user = self.ids[index % USERS]
            conn.autocommit = False
            cur.execute(READ + " FOR UPDATE", {"tenant": self.tenant, "id": user}).fetchone()
            cur.execute(UPDATE, {**update, "id": user})
            conn.commit()
            conn.autocommit = True

        def put_optimistic(index: int) -> None:
            user = self.ids[index % USERS]
            version = cur.execute(READ, {"tenant": self.tenant, "id": user}).fetchone()[1]
            cur.execute(UPDATE + " AND version = %(version)s",
                        {**update, "id": user, "version": version})

        def post_in_a_transaction(_index: int) -> None:
            values = self.values(self.new_name())
            conn.autocommit = False
            cur.execute(INSERT, values)
            cur.execute(INSERT_EMAIL, values)
            conn.commit()
            conn.autocommit = True

        def by(query: str) -> Callable[[int], Any]:
            return lambda index: cur.execute(
                query, {"tenant": self.tenant, "name": self.name(index), "limit": 100}
            ).fetchall()

        def new_cursor(index: int) -> Any:
            return conn.execute(PLAIN, {"tenant": self.tenant, "name": self.name(index)})

        return [
            self.measure("GET by userName: paged, total on each row", by(PAGED)),
            self.measure("GET by userName: plain query", by(PLAIN)),
            self.measure("the plain query, a new cursor each time", new_cursor),
            self.measure("PUT: BEGIN, SELECT FOR UPDATE, UPDATE, COMMIT", put_locked),
            self.measure("PUT: SELECT, UPDATE WHERE version, autocommit", put_optimistic),
            self.measure("POST: BEGIN, INSERT user, INSERT e-mail, COMMIT",
                         post_in_a_transaction),
            self.measure("POST: one statement, autocommit",
                         lambda _index: self.post_in_one(self.new_name())),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scview_database("postgresql", Path(tmp)) as url:
        plain_url = make_url(url).set(drivername="postgresql").render_as_string(False)
        bench = Bench(plain_url, args.runs)
        rows = bench.rows()
        bench.conn.close()
    print(f"{args.runs:,} runs each, {USERS:,} users; load average "
          f"{', '.join(f'{value:.2f}' for value in os.getloadavg())} at the end.\n")
    print("| shape | wall µs | client CPU µs | PostgreSQL CPU µs |\n|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
