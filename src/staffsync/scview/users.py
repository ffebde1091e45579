"""The user service: create, get, search, replace, patch and delete a tenant's users.

Every function takes a ``Session`` and never commits. The statements of single-user
requests are SQL on the session's DBAPI connection (``_Sql``); the others are SQLAlchemy
Core on the session's connection (the ORM's per-statement work would cost about a third
of a filtered GET). A user's ``meta.version`` is a counter ``n`` published as the weak
ETag ``W/"n"``; it grows by one on every change, and a write whose ``If-Match`` names
another version fails with 412. Each single-user write is one statement, written only if
the user is still at the version read (``_rewrite``), so that a request of one may run
in autocommit on PostgreSQL (``kit.db.Units``).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import orjson
import psycopg
from scim2_models import PatchOp, SCIMException
from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import String, Text

from staffsync.kit.db import coalesced, cursor
from staffsync.scview.errors import (
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    UniquenessException,
)
from staffsync.scview.models import emails, users
from staffsync.scview.patch import apply_patch
from staffsync.scview.resources import ENTERPRISE_SCHEMA
from staffsync.scview.tenants import now

Resource = dict[str, Any]
EPOCH = datetime(1970, 1, 1)  # of Unix time, naive UTC as SCView's times are
CHUNK = 500  # names per IN (...) query, well under every driver's parameter limit

# Which of some userNames a tenant holds. On PostgreSQL, one index probe per name (a
# LATERAL subquery with LIMIT 1, which the planner cannot flatten into a join): both
# ``IN (...)`` and a join on the array of names were planned, on a table too new to have
# statistics, as a scan of every user of the tenant, so each Bulk cost more than the one
# before (150,000 users in the tenant: 76 to 109 ms per 500 names, against 1 to 3.5 ms).
_TAKEN: dict[str, Executable] = {
    "sqlite": select(users.c.user_name).where(
        users.c.tenant_id == bindparam("tenant_id"),
        users.c.user_name.in_(bindparam("names", expanding=True)),
    ),
    "postgresql": text(
        "SELECT taken.user_name FROM unnest(CAST(:names AS VARCHAR[])) AS wanted(name) "
        "CROSS JOIN LATERAL (SELECT user_name FROM scim_users WHERE tenant_id = :tenant_id "
        "AND user_name = wanted.name LIMIT 1) AS taken"
    ),
}
USER_COLUMNS = ("id", "tenant_id", "user_name", "external_id", "employee_number",
                "family_name", "active", "created", "last_modified", "version", "resource")
EMAIL_COLUMNS = ("user_id", "value", "type", "primary")


class _Sql:
    """The statements of single-user requests, run on the DBAPI connection (sqlite3 or
    psycopg, see ``kit.db.dbapi``). Through SQLAlchemy each statement cost several times
    what SQLite spends running it (compiling the cached statement's parameters, the
    execution context, result rows); written once per dialect, they cost what the driver
    does. They name the tables of ``models``, which stay the schema."""

    def __init__(self, dialect: str, integrity: type[Exception]) -> None:
        self.integrity = integrity  # the driver's IntegrityError
        self.sqlite = dialect == "sqlite"
        lock = "" if self.sqlite else " FOR UPDATE"
        self.one = self._param(
            "SELECT CAST(resource AS TEXT), version FROM scim_users"
            " WHERE tenant_id = :tenant_id AND id = :user_id")
        self.one_locked = self.one + lock
        self.clash = self._param(
            "SELECT id FROM scim_users WHERE tenant_id = :tenant_id"
            " AND user_name = :user_name AND id != :own_id")
        self.insert = self._param(
            f"INSERT INTO scim_users ({', '.join(USER_COLUMNS)})"
            f" VALUES ({', '.join(':' + name for name in USER_COLUMNS)})"
            " ON CONFLICT (tenant_id, user_name) DO NOTHING RETURNING id")
        self.save = self._param(
            f"UPDATE scim_users SET {', '.join(f'{name} = :{name}' for name in _SAVED)}"
            " WHERE tenant_id = :tenant_id AND id = :id AND version = :read_version")
        self.insert_email = self._param(
            'INSERT INTO scim_emails (user_id, value, type, "primary")'
            " VALUES (:user_id, :value, :type, :primary)")
        self.drop_emails = self._param("DELETE FROM scim_emails WHERE user_id = :id")
        self.delete = self._param("DELETE FROM scim_users WHERE id = :id")
        self.equal = {"external_id": self._equal("external_id")}
        # userName is unique in a tenant: the page is the one row, or none
        self.by_name = self._param(
            "SELECT CAST(resource AS TEXT) FROM scim_users"
            " WHERE tenant_id = :tenant_id AND user_name = :value")
        if not self.sqlite:  # one statement each, with the user's e-mail rows
            self.insert_many = self._param(_INSERT_MANY)
            self.save_with_emails = self._param(
                f"WITH written AS ({self.save} RETURNING id),"
                " gone AS (DELETE FROM scim_emails WHERE user_id IN (SELECT id FROM written))"
                f"{_add_emails()} SELECT count(*) FROM written")
            self.replace_in_one = self._param(_REPLACE_IN_ONE)

    def _equal(self, column: str) -> tuple[str, str]:
        """(page, count) of ``search_equal``: the page has the total count on each row."""
        where = f" FROM scim_users WHERE tenant_id = :tenant_id AND {column} = :value"
        page = (f"SELECT CAST(resource AS TEXT), count(*) OVER (){where}"
                " ORDER BY user_name LIMIT :limit OFFSET :offset")
        return self._param(page), self._param(f"SELECT count(*){where}")

    def _param(self, sql: str) -> str:
        """sqlite3 takes ``:name`` parameters as written; psycopg takes ``%(name)s``."""
        return sql if self.sqlite else re.sub(r":(\w+)", r"%(\1)s", sql)

    def stamp(self, moment: datetime) -> Any:
        """A DateTime column's value as SQLAlchemy stores it: on SQLite, text with
        microseconds (which keeps text comparison in filters chronological)."""
        if self.sqlite:
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment


_SAVED = tuple(name for name in USER_COLUMNS if name not in ("id", "tenant_id", "created"))


def _add_emails(where: str = "") -> str:
    """PostgreSQL: a CTE adding the e-mail rows of the user ``written`` (a CTE before it)
    from three parallel arrays, if ``where``."""
    return (', added AS (INSERT INTO scim_emails (user_id, value, type, "primary")'
            " SELECT written.id, mail.value, mail.type, mail.is_primary FROM written"
            " CROSS JOIN unnest(CAST(:mail_values AS VARCHAR[]), CAST(:mail_types AS VARCHAR[]),"
            f" CAST(:mail_primaries AS BOOLEAN[])) AS mail(value, type, is_primary){where})")


# PostgreSQL: new users and their e-mail rows as one statement, from parallel arrays of
# their columns (``_many_values``); a taken userName is skipped, so its id is not returned.
_INSERT_MANY = (
    "WITH given AS (SELECT * FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:tenant_ids AS INTEGER[]),"
    " CAST(:user_names AS VARCHAR[]), CAST(:external_ids AS VARCHAR[]),"
    " CAST(:employee_numbers AS VARCHAR[]), CAST(:family_names AS VARCHAR[]),"
    " CAST(:actives AS BOOLEAN[]), CAST(:moments AS TIMESTAMP[]), CAST(:resources AS TEXT[]))"
    " AS given(id, tenant_id, user_name, external_id, employee_number, family_name, active,"
    " moment, resource)),"
    f" written AS (INSERT INTO scim_users ({', '.join(USER_COLUMNS)})"
    " SELECT id, tenant_id, user_name, external_id, employee_number, family_name, active,"
    " moment, moment, 1, CAST(resource AS JSON) FROM given"
    " ON CONFLICT (tenant_id, user_name) DO NOTHING RETURNING id),"
    ' added AS (INSERT INTO scim_emails (user_id, value, type, "primary")'
    " SELECT mail.user_id, mail.value, mail.type, mail.is_primary FROM unnest("
    "CAST(:mail_users AS VARCHAR[]), CAST(:mail_values AS VARCHAR[]),"
    " CAST(:mail_types AS VARCHAR[]), CAST(:mail_primaries AS BOOLEAN[]))"
    " AS mail(user_id, value, type, is_primary) JOIN written ON written.id = mail.user_id)"
    " SELECT id FROM written"
)
# PostgreSQL: PUT as one statement. The new resource is the request's JSON text with the
# id before it and meta after it (``_replace_in_one``), meta.created from the stored one;
# its e-mail rows are rewritten only if its emails changed. No row when the user is
# missing, unchanged, or written by another request between this statement's read and
# its write (the version read must still be there: no row lock, as in ``_rewrite``).
_REPLACE_IN_ONE = (
    "WITH old AS (SELECT id, version, CAST(resource AS jsonb) AS doc FROM scim_users"
    " WHERE tenant_id = :tenant_id AND id = :id),"
    " written AS (UPDATE scim_users AS saved SET "
    + ", ".join(f"{name} = :{name}" for name in _SAVED if name not in ("version", "resource"))
    + ", version = saved.version + 1, resource = CAST(CAST(:head AS TEXT)"
    " || to_json(old.doc -> 'meta' ->> 'created') || CAST(:middle AS TEXT)"
    " || (saved.version + 1) || CAST(:tail AS TEXT) AS JSON)"
    " FROM old WHERE saved.id = old.id AND saved.version = old.version"
    " AND old.doc - 'id' - 'meta' IS DISTINCT FROM CAST(:body AS JSONB)"
    " RETURNING saved.id, saved.version, old.doc -> 'meta' ->> 'created' AS created,"
    " old.doc -> 'emails' IS DISTINCT FROM CAST(:emails AS JSONB) AS new_mails),"
    " gone AS (DELETE FROM scim_emails WHERE user_id IN (SELECT id FROM written WHERE new_mails))"
    + _add_emails(" WHERE written.new_mails")
    + " SELECT version, created FROM written"
)
_SQLITE = _Sql("sqlite", sqlite3.IntegrityError)
_POSTGRESQL = _Sql("postgresql", psycopg.errors.UniqueViolation)


def _sql(cur: Any) -> _Sql:
    return _SQLITE if isinstance(cur, sqlite3.Cursor) else _POSTGRESQL


def _user_values(sql: _Sql, row: dict[str, Any]) -> dict[str, Any]:
    """A ``_new_row``/``_save`` row as the driver takes it: JSON text, stamps."""
    values = {**row, "resource": orjson.dumps(row["resource"]).decode(),
              "last_modified": sql.stamp(row["last_modified"])}
    if "created" in values:
        values["created"] = sql.stamp(values["created"])
    return values


class Stored(NamedTuple):
    """A stored user as ``get`` reads it."""

    resource: Resource
    version: int


def etag(version: int) -> str:
    return f'W/"{version}"'


def timestamp(moment: datetime) -> str:
    """meta timestamps: ISO 8601 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z."""
    return moment.isoformat(timespec="milliseconds") + "Z"


def write_moment() -> datetime:
    """The time of a write, cut to the millisecond that ``timestamp`` publishes.

    Stored at the published precision, so that a filter on a user's own published
    ``meta.lastModified`` compares equal to it (eq finds it, gt does not).
    """
    moment = now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 7232: ``*`` or a list of ETags, one of which must be the current version."""
    if if_match is None:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" not in wanted and not wanted & {etag(version), f'"{version}"'}:
        raise PreconditionFailedException(
            detail=f"The user is at version {etag(version)}, not {if_match}."
        )


def index_columns(data: Resource) -> dict[str, Any]:
    """The filter columns of a stored resource (case-insensitive ones lower-cased); a
    value too long for its column is refused (``check_lengths``)."""
    check_lengths(data)
    enterprise = data.get(ENTERPRISE_SCHEMA) or {}
    return {
        "user_name": data["userName"].lower(),
        "external_id": data.get("externalId"),
        "employee_number": _lower(enterprise.get("employeeNumber")),
        "family_name": _lower((data.get("name") or {}).get("familyName")),
        "active": data.get("active") is not False,
    }


def check_lengths(data: Resource) -> None:
    """Refuse a resource with a value longer than its filter column (``models``), naming
    each such attribute: PostgreSQL would refuse the row, and SQLite keep it whole."""
    enterprise = data.get(ENTERPRISE_SCHEMA) or {}
    values = [("userName", data.get("userName"), _LONGEST["user_name"]),
              ("externalId", data.get("externalId"), _LONGEST["external_id"]),
              ("employeeNumber", enterprise.get("employeeNumber"),
               _LONGEST["employee_number"]),
              ("name.familyName", (data.get("name") or {}).get("familyName"),
               _LONGEST["family_name"])]
    for index, email in enumerate(data.get("emails") or []):
        values += [(f"emails[{index}].value", email.get("value"), _LONGEST["value"]),
                   (f"emails[{index}].type", email.get("type"), _LONGEST["type"])]
    too_long = [f"{path} (at most {longest} characters)" for path, value, longest in values
                if isinstance(value, str) and len(value) > longest]
    if too_long:
        raise InvalidValueException(detail=f"Too long: {', '.join(too_long)}.")


# the longest value of each filter column
_LONGEST = {column.name: cast(String, column.type).length or 0 for column in (
    users.c.user_name, users.c.external_id, users.c.employee_number, users.c.family_name,
    emails.c.value, emails.c.type)}


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def email_rows(user_id: str, data: Resource) -> list[dict[str, Any]]:
    return [
        {
            "user_id": user_id,
            "value": _lower(email.get("value")),
            "type": _lower(email.get("type")),
            "primary": bool(email.get("primary")),
        }
        for email in data.get("emails") or []
    ]


def ensure_unique(session: Session, tenant_id: int, user_name: str, own_id: str = "") -> None:
    """userName is unique in a tenant, compared case-insensitively."""
    cur = cursor(session)
    values = {"tenant_id": tenant_id, "user_name": user_name, "own_id": own_id}
    if cur.execute(_sql(cur).clash, values).fetchone() is not None:
        raise UniquenessException(detail=f"userName {user_name!r} is already taken.")


def create(session: Session, tenant_id: int, data: Resource) -> Resource:
    """Store a new user (``data`` in stored form); return it with id and meta, no location.

    One insert that skips a taken userName (ON CONFLICT DO NOTHING) tells a clash by
    returning no id: no query before it, and no failed statement to abort the
    transaction (a Bulk's other operations still commit). On PostgreSQL the user and its
    e-mail rows are one statement, so a unit of it alone needs no transaction of its own
    (``kit.db.Units``, autocommit). There, in autocommit, the new users of requests in
    flight together go in one statement (``kit.green.Coalesced``); one in a transaction
    (a Bulk's) is written alone, in it.
    """
    row = _new_row(tenant_id, data, write_moment())
    cur = cursor(session)
    sql = _sql(cur)
    if not sql.sqlite:
        if cur.connection.autocommit:
            return cast(Resource, coalesced(session, _insert_many).submit(cur, row))
        outcome = _insert_many(cur, [row])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    if cur.execute(sql.insert, _user_values(sql, row)).fetchone() is None:
        raise _taken(data["userName"])
    _insert_emails(cur, sql, email_rows(row["id"], row["resource"]))
    return dict(row["resource"])


def _taken(user_name: str) -> UniquenessException:
    return UniquenessException(detail=f"userName {user_name!r} is taken.")


def _insert_many(cur: Any, rows: list[dict[str, Any]]) -> list[Resource | Exception]:
    """PostgreSQL: store the new users ``rows`` (``_new_row``s) in one statement (in
    autocommit, or one row in the caller's transaction); each one's outcome. If the
    statement fails on a value, each row is tried alone, so only the bad one fails."""
    try:
        written = {found for (found,) in cur.execute(_POSTGRESQL.insert_many,
                                                     _many_values(rows)).fetchall()}
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        if len(rows) == 1:
            return [exc]
        return [outcome for row in rows for outcome in _insert_many(cur, [row])]
    return [dict(row["resource"]) if row["id"] in written
            else _taken(row["resource"]["userName"]) for row in rows]


def _many_values(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The parameters of ``_INSERT_MANY``: each column of ``rows`` as an array literal."""
    mails = [mail for row in rows for mail in email_rows(row["id"], row["resource"])]
    columns: dict[str, list[Any]] = {
        "ids": [row["id"] for row in rows],
        "tenant_ids": [str(row["tenant_id"]) for row in rows],
        "user_names": [row["user_name"] for row in rows],
        "external_ids": [row["external_id"] for row in rows],
        "employee_numbers": [row["employee_number"] for row in rows],
        "family_names": [row["family_name"] for row in rows],
        "actives": [row["active"] for row in rows],
        "moments": [str(row["created"]) for row in rows],
        "resources": [orjson.dumps(row["resource"]).decode() for row in rows],
        "mail_users": [mail["user_id"] for mail in mails],
    }
    return {**{name: _array(items) for name, items in columns.items()}, **_mail_arrays(mails)}


def _insert_emails(cur: Any, sql: _Sql, rows: list[dict[str, Any]]) -> None:
    for row in rows:  # one or two: a statement each costs less than executemany's setup
        cur.execute(sql.insert_email, row)


def _mail_arrays(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The parameters of ``_add_emails``: the e-mail rows' columns as three arrays, each
    written as a PostgreSQL array literal (psycopg's list dumper cost about 2 µs an
    array, a tenth of SCView's share of a POST's statement)."""
    return {"mail_values": _array([row["value"] for row in rows]),
            "mail_types": _array([row["type"] for row in rows]),
            "mail_primaries": _array([row["primary"] for row in rows])}


def _array(items: list[str | bool | None]) -> str:
    """The array literal of strings, booleans and NULLs (PostgreSQL's array input syntax:
    each string double-quoted, with its backslashes and double quotes escaped)."""
    return "{" + ",".join(map(_element, items)) + "}"


def _element(item: str | bool | None) -> str:
    if item is None:
        return "NULL"
    if isinstance(item, bool):
        return "t" if item else "f"
    return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _new_row(tenant_id: int, data: Resource, moment: datetime) -> dict[str, Any]:
    created = _with_meta(data, _uuids(1, moment)[0], moment, moment, 1)
    return {"id": created["id"], "tenant_id": tenant_id, "created": moment,
            "last_modified": moment, "version": 1, "resource": created, **index_columns(data)}


def plan_creates(
    session: Session, tenant_id: int, batch: list[Resource]
) -> list[dict[str, Any] | SCIMException]:
    """The row each new user would be (its ``resource`` has id and meta), or why it is
    refused; nothing is written until ``insert_created``. One uniqueness query in all."""
    taken = _taken_names(session, tenant_id, [item["userName"].lower() for item in batch])
    planned: list[dict[str, Any] | SCIMException] = []
    moment = write_moment()
    meta = _with_meta({}, "", moment, moment, 1)["meta"]  # one for all: they share a time
    for data, user_id in zip(batch, _uuids(len(batch), moment), strict=True):
        try:
            columns = index_columns(data)
        except SCIMException as refused:
            planned.append(refused)
            continue
        if columns["user_name"] in taken:
            planned.append(_taken(data["userName"]))
            continue
        taken.add(columns["user_name"])
        planned.append({"id": user_id, "tenant_id": tenant_id, "created": moment,
                        "last_modified": moment, "version": 1,
                        "resource": {"id": user_id, **data, "meta": dict(meta)}, **columns})
    return planned


def _uuids(count: int, moment: datetime) -> list[str]:
    """``count`` new user ids: time-ordered UUIDs (version 7, RFC 9562), 48 bits of Unix
    time in milliseconds (``moment``'s), then 74 random bits.

    A random (version 4) id puts each new user in a random leaf of the id index and of
    ``scim_emails``' user_id index: at 200,000 users a Bulk of 1,000 touched about a
    thousand pages of each, which SQLite wrote to its WAL and then checkpointed, so each
    Bulk cost more than the one before (insert and commit 148 ms, against 80 ms with these
    ids, which land together at the end of both indexes). They are still unique and
    unguessable (74 random bits); the time they carry is the users' meta.created.
    All come from one ``os.urandom`` call (``uuid.uuid4`` per user cost 3 ms a Bulk).
    """
    raw = bytearray(os.urandom(16 * count))
    stamp = ((moment - EPOCH) // timedelta(milliseconds=1)).to_bytes(6, "big")
    for start in range(0, 16 * count, 16):
        raw[start : start + 6] = stamp
    raw[6::16] = bytes(byte & 0x0F | 0x70 for byte in raw[6::16])  # version 7
    raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])  # the RFC 4122 variant
    hexa = raw.hex()
    return [f"{hexa[i:i + 8]}-{hexa[i + 8:i + 12]}-{hexa[i + 12:i + 16]}-{hexa[i + 16:i + 20]}-"
            f"{hexa[i + 20:i + 32]}" for i in range(0, 32 * count, 32)]


def _taken_names(session: Session, tenant_id: int, names: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        conn = session.connection()
        taken.update(conn.scalars(_TAKEN[conn.dialect.name], {"tenant_id": tenant_id,
                                                               "names": chunk}))
    return taken


def insert_created(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write the rows ``plan_creates`` planned, with their emails, in two batched inserts.

    They run on the driver's connection (the session's, in its transaction): for 1,000
    rows, SQLAlchemy building executemany's parameters cost as much as SQLite's insert
    itself. The values are what SQLAlchemy's column types bind: the resource as the
    orjson text the app's engine writes, the times by the DateTime type's own formatter.
    On PostgreSQL they go by COPY, which took 20 ms for 1,000 users against 40 ms for
    psycopg's pipelined executemany.
    """
    if not rows:
        return
    conn = session.connection()
    stamp = _bound_times(conn.dialect, rows)
    values = [
        (row["id"], row["tenant_id"], row["user_name"], row["external_id"],
         row["employee_number"], row["family_name"], row["active"], stamp[row["created"]],
         stamp[row["last_modified"]], row["version"], orjson.dumps(row["resource"]).decode())
        for row in rows
    ]
    mails = [(mail["user_id"], mail["value"], mail["type"], mail["primary"])
             for row in rows for mail in email_rows(row["id"], row["resource"])]
    driver = conn.connection.driver_connection
    write = _copy_rows if conn.dialect.name == "postgresql" else _executemany
    try:
        write(driver, users.name, USER_COLUMNS, values)
    except conn.dialect.loaded_dbapi.IntegrityError as exc:  # a concurrent create won
        raise UniquenessException(detail="userName is already taken.") from exc
    if mails:
        write(driver, emails.name, EMAIL_COLUMNS, mails)


def _bound_times(dialect: Any, rows: list[dict[str, Any]]) -> dict[datetime, Any]:
    """Each time of the rows as the DateTime type binds it (on SQLite its own text form;
    psycopg takes the datetime), formatted once: a batch shares one time."""
    process = users.c.created.type.dialect_impl(dialect).bind_processor(dialect)
    times = {row[key] for row in rows for key in ("created", "last_modified")}
    return {moment: process(moment) if process else moment for moment in times}


def _quoted(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def _executemany(driver: Any, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    marks = ", ".join("?" * len(columns))
    driver.executemany(f"INSERT INTO {table} ({_quoted(columns)}) VALUES ({marks})", rows)


def _copy_rows(driver: Any, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    with driver.cursor() as cursor, cursor.copy(
        f"COPY {table} ({_quoted(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _with_meta(
    data: Resource, user_id: str, created: datetime, modified: datetime, version: int
) -> Resource:
    return {"id": user_id, **data, "meta": _meta(timestamp(created), modified, version)}


def _meta(created: str, modified: datetime, version: int) -> dict[str, Any]:
    return {"resourceType": "User", "created": created, "lastModified": timestamp(modified),
            "version": etag(version)}


def get(session: Session, tenant_id: int, user_id: str, lock: bool = False) -> Stored:
    """One user (its resource and version), or 404; ``lock``: for update, on PostgreSQL."""
    cur = cursor(session)
    sql = _sql(cur)
    values = {"tenant_id": tenant_id, "user_id": user_id}
    row = cur.execute(sql.one_locked if lock else sql.one, values).fetchone()
    if row is None:
        raise NotFoundException(detail=f"No user has id {user_id!r}.")
    return Stored(orjson.loads(row[0]), row[1])


def search(
    session: Session, tenant_id: int, where: ColumnElement[bool], start_index: int, count: int
) -> tuple[int, list[Resource]]:
    """(totalResults, one page) of the users matching ``where``, ordered by userName."""
    total, texts = search_json(session, tenant_id, where, start_index, count)
    # The stored JSON as text, parsed by orjson: the JSON type's json.loads was most of
    # the cost of a page of 500 users.
    return total, [orjson.loads(text) for text in texts]


def search_json(
    session: Session, tenant_id: int, where: ColumnElement[bool], start_index: int, count: int,
    shown: ColumnElement[str] | None = None,
) -> tuple[int, list[str]]:
    """``search`` with each user as JSON text: as stored, or ``shown`` of it (a
    ``projection.json_projection``).

    The total is counted on its own: a ``count() over ()`` beside the resources made
    every page read every matching resource, so paging through a tenant cost
    O(users^2) (10,000 users: 8.6 s -> 1.8 s). The order is the tenant's unique
    (tenant_id, user_name) index, so a page is a range of that index: ordering by id
    had no index to follow and sorted every user of the tenant for each page (16 ms a
    page at 10,000 users, against about 1 ms). SCIM leaves the order of an unsorted
    listing to the server (RFC 7644 3.4.2.3); it only has to be the same from one page
    to the next, and userName is unique in a tenant.
    """
    condition = (users.c.tenant_id == tenant_id) & where
    conn = session.connection()
    total = int(conn.scalar(select(func.count()).select_from(users).where(condition)) or 0)
    if count <= 0 or start_index > total:
        return total, []
    column = users.c.resource.cast(Text) if shown is None else shown

    def paged(query: Select[Any]) -> Select[Any]:
        return (query.where(condition).order_by(users.c.user_name)
                .limit(count).offset(start_index - 1))

    if conn.dialect.name == "sqlite":
        # SQLite's OFFSET skips a row before reading its columns: one query along the
        # index (the sync's listing of 10,027 users: 0.075 s of SQLite, against 0.1 s
        # picking the ids first).
        page = paged(select(column))
    else:
        # PostgreSQL's Limit pulls each skipped row through the scan's projection, so
        # the page is chosen on ids first and only its own rows are read.
        ids = paged(select(users.c.id)).scalar_subquery()
        page = select(column).where(users.c.id.in_(ids)).order_by(users.c.user_name)
    return total, list(conn.scalars(page))


def search_equal(
    session: Session, tenant_id: int, column: str, value: str, start_index: int, count: int
) -> tuple[int, list[Resource]]:
    """``search`` for ``column = value`` (see fastfilter). userName is unique in a tenant,
    so its match is one row or none, read by the plainest query (no window, order or
    paging for the database to plan) and paged here. For externalId the page query has
    the total count on each row (a page reads at most a few rows); an empty page (or
    count 0) still needs the total, by count(*)."""
    cur = cursor(session)
    sql = _sql(cur)
    if column == "user_name":
        found = cur.execute(sql.by_name, {"tenant_id": tenant_id, "value": value}).fetchall()
        page = found[start_index - 1 : start_index - 1 + count]
        return len(found), [orjson.loads(row[0]) for row in page]
    page_sql, total = sql.equal[column]
    values = {"tenant_id": tenant_id, "value": value, "limit": count, "offset": start_index - 1}
    rows = cur.execute(page_sql, values).fetchall() if count > 0 else []
    if rows:
        return int(rows[0][1]), [orjson.loads(row[0]) for row in rows]
    return int(cur.execute(total, values).fetchone()[0]), []


def replace(
    session: Session, tenant_id: int, user_id: str, data: Resource, if_match: str | None = None
) -> Resource:
    """PUT: the stored user becomes ``data`` (stored form); id and meta.created are kept.

    On PostgreSQL in autocommit (a PUT request's unit) without If-Match it is one
    statement, with no read before it (``_REPLACE_IN_ONE``); a user missing, unchanged or
    written meanwhile there, and any other PUT, goes the read-and-write way
    (``_rewrite``). It saves a round trip and the client's share of a statement.
    """
    cur = cursor(session)
    sql = _sql(cur)
    if if_match is None and not sql.sqlite and cur.connection.autocommit:
        saved = _replace_in_one(cur, sql, tenant_id, user_id, dict(data))
        if saved is not None:
            return saved
    return _rewrite(session, tenant_id, user_id, if_match, lambda _stored: dict(data))


_CREATED, _VERSION = "\0created", -1  # placeholders of ``_replace_in_one``


def _replace_in_one(
    cur: Any, sql: _Sql, tenant_id: int, user_id: str, data: Resource
) -> Resource | None:
    """The user written by ``_REPLACE_IN_ONE``, or None if it is missing, unchanged or
    written meanwhile.

    The stored text is what orjson makes of the returned resource: the resource with
    placeholders for meta.created and the version (both last in it, so the last match
    of each is theirs), cut around them for the statement to fill in.
    """
    data.pop("meta", None)
    data.pop("id", None)
    moment = write_moment()
    emails = data.get("emails")
    shaped = {"id": user_id, **data, "meta": _meta(_CREATED, moment, _VERSION)}
    head, _, rest = orjson.dumps(shaped).decode().rpartition(orjson.dumps(_CREATED).decode())
    middle, _, tail = rest.rpartition(str(_VERSION))
    values = {
        **index_columns(data), "last_modified": sql.stamp(moment),
        "tenant_id": tenant_id, "id": user_id, "body": orjson.dumps(data).decode(),
        "emails": None if emails is None else orjson.dumps(emails).decode(),
        "head": head, "middle": middle, "tail": tail,
        **_mail_arrays(email_rows(user_id, data)),
    }
    try:
        row = cur.execute(sql.replace_in_one, values).fetchone()
    except sql.integrity as exc:  # the new userName is another user's
        raise _taken(data["userName"]) from exc
    if row is None:
        return None
    version, created = row
    return {"id": user_id, **data, "meta": _meta(created, moment, version)}


def patch(
    session: Session, tenant_id: int, user_id: str, patch_op: PatchOp[Any],
    if_match: str | None = None,
) -> Resource:
    """PATCH (RFC 7644 §3.5.2) applied by scim2-models to the stored user."""
    return _rewrite(session, tenant_id, user_id, if_match,
                    lambda stored: apply_patch(stored, patch_op))


def _rewrite(
    session: Session, tenant_id: int, user_id: str, if_match: str | None,
    change: Callable[[Resource], Resource | None],
) -> Resource:
    """Read the user, ``change`` it (None: no change), and write it back if it is still at
    the version read; if another write came in between, read it again.

    Optimistic, so that each write is one statement: no row lock held from the read to
    the write, and a unit of it alone needs no transaction (``kit.db.Units``,
    autocommit). ``If-Match`` is checked against each version read.
    """
    while True:
        row = get(session, tenant_id, user_id)
        check_if_match(if_match, row.version)
        changed = change(row.resource)
        if changed is None:
            return dict(row.resource)
        saved = _save(session, tenant_id, user_id, row, changed)
        if saved is not None:
            return saved


def _save(
    session: Session, tenant_id: int, user_id: str, row: Stored, data: Resource
) -> Resource | None:
    """Write a new state of a user: a new version unless nothing changed; None if the
    user is no longer at the version ``row`` read."""
    data.pop("meta", None)
    data.pop("id", None)
    current = {k: v for k, v in row.resource.items() if k not in ("id", "meta")}
    if data == current:
        return dict(row.resource)
    columns = index_columns(data)
    if columns["user_name"] != row.resource["userName"].lower():  # else it is its own
        ensure_unique(session, tenant_id, columns["user_name"], own_id=user_id)
    moment, version = write_moment(), row.version + 1
    data = {"id": user_id, **data, "meta": _meta(row.resource["meta"]["created"], moment,
                                                  version)}
    cur = cursor(session)
    sql = _sql(cur)
    values = _user_values(sql, {"id": user_id, "last_modified": moment, "version": version,
                                "resource": data, **columns})
    values.update(tenant_id=tenant_id, read_version=row.version)
    mails = email_rows(user_id, data)
    new_mails = mails != email_rows(user_id, row.resource)  # they change only with emails
    try:
        if sql.sqlite or not new_mails:
            written = cur.execute(sql.save, values).rowcount
        else:
            written = cur.execute(sql.save_with_emails,
                                   {**values, **_mail_arrays(mails)}).fetchone()[0]
    except sql.integrity as exc:  # a concurrent write took the userName meanwhile
        raise UniquenessException(detail="userName is already taken.") from exc
    if not written:
        return None
    if sql.sqlite and new_mails:
        cur.execute(sql.drop_emails, {"id": user_id})
        _insert_emails(cur, sql, mails)
    return data


def remove(session: Session, tenant_id: int, user_id: str, if_match: str | None = None) -> None:
    """DELETE: the user and its emails are gone; its id answers 404 from now on."""
    row = get(session, tenant_id, user_id, lock=True)
    check_if_match(if_match, row.version)
    cur = cursor(session)
    sql = _sql(cur)
    cur.execute(sql.drop_emails, {"id": user_id})
    cur.execute(sql.delete, {"id": user_id})
