"""The user service: create, get, search, replace, patch and delete a tenant's users.

Every function takes a ``Session`` and never commits. Statements are SQLAlchemy Core,
run on the session's connection: the ORM's per-statement work would cost about a third
of a filtered GET. A user's ``meta.version`` is a counter ``n`` published as the weak
ETag ``W/"n"``; it grows by one on every change, and a write whose ``If-Match`` names
another version fails with 412.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from scim2_models import PatchOp, SCIMException
from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from staffsync.scview.errors import (
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

# The statements of single-user requests, built once: building one costs more than
# running it on SQLite.
_ONE = select(users.c.resource, users.c.version, users.c.created).where(
    users.c.tenant_id == bindparam("tenant_id"), users.c.id == bindparam("user_id")
)
_ONE_LOCKED = _ONE.with_for_update()
_CLASH = select(users.c.id).where(
    users.c.tenant_id == bindparam("tenant_id"), users.c.user_name == bindparam("user_name"),
    users.c.id != bindparam("own_id"),
)
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
_NAME_KEY = ["tenant_id", "user_name"]
_INSERT_NEW = {  # a new user (its id returned), unless its userName is taken in the tenant
    name: dialect(users).on_conflict_do_nothing(index_elements=_NAME_KEY).returning(users.c.id)
    for name, dialect in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_INSERT_EMAILS = insert(emails)
# the columns of insert_created, which writes on the driver's connection
USER_COLUMNS = ("id", "tenant_id", "user_name", "external_id", "employee_number",
                "family_name", "active", "created", "last_modified", "version", "resource")
EMAIL_COLUMNS = ("user_id", "value", "type", "primary")
_SAVE = update(users).where(users.c.id == bindparam("uid"))
_DROP_EMAILS = delete(emails).where(emails.c.user_id == bindparam("uid"))


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
    """The filter columns of a stored resource (case-insensitive ones lower-cased)."""
    enterprise = data.get(ENTERPRISE_SCHEMA) or {}
    return {
        "user_name": data["userName"].lower(),
        "external_id": data.get("externalId"),
        "employee_number": _lower(enterprise.get("employeeNumber")),
        "family_name": _lower((data.get("name") or {}).get("familyName")),
        "active": data.get("active") is not False,
    }


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
    clash = session.connection().scalar(
        _CLASH, {"tenant_id": tenant_id, "user_name": user_name, "own_id": own_id}
    )
    if clash is not None:
        raise UniquenessException(detail=f"userName {user_name!r} is already taken.")


def _write_emails(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(_INSERT_EMAILS, rows)


def create(session: Session, tenant_id: int, data: Resource) -> Resource:
    """Store a new user (``data`` in stored form); return it with id and meta, no location.

    One insert that skips a taken userName (ON CONFLICT DO NOTHING) tells a clash by
    returning no id: no query before it, and no failed statement to abort the
    transaction (a Bulk's other operations still commit).
    """
    row = _new_row(tenant_id, data, write_moment())
    conn = session.connection()
    if conn.execute(_INSERT_NEW[conn.dialect.name], row).first() is None:
        raise UniquenessException(detail=f"userName {data['userName']!r} is taken.")
    _write_emails(session, email_rows(row["id"], row["resource"]))
    return dict(row["resource"])


def _new_row(tenant_id: int, data: Resource, moment: datetime) -> dict[str, Any]:
    created = _with_meta(data, str(uuid.uuid4()), moment, moment, 1)
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
        columns = index_columns(data)
        if columns["user_name"] in taken:
            planned.append(UniquenessException(detail=f"userName {data['userName']!r} is taken."))
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
    meta = {
        "resourceType": "User",
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "version": etag(version),
    }
    return {"id": user_id, **data, "meta": meta}


def get(session: Session, tenant_id: int, user_id: str, lock: bool = False) -> Any:
    """The row (resource, version, created) of one user, or 404."""
    query = _ONE_LOCKED if lock else _ONE
    row = session.connection().execute(query, {"tenant_id": tenant_id, "user_id": user_id}).first()
    if row is None:
        raise NotFoundException(detail=f"No user has id {user_id!r}.")
    return row


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
    ordered = select(column).where(condition).order_by(users.c.user_name)
    if conn.dialect.name == "sqlite":
        # SQLite's OFFSET skips a row before reading its columns: one query along the
        # index (the sync's listing of 10,027 users: 0.075 s of SQLite, against 0.1 s
        # picking the ids first).
        return total, list(conn.scalars(ordered.limit(count).offset(start_index - 1)))
    # PostgreSQL's Limit pulls each skipped row through the scan's projection, so the
    # page is chosen on ids first and only its own rows are read.
    ids = (select(users.c.id).where(condition).order_by(users.c.user_name)
           .limit(count).offset(start_index - 1)).scalar_subquery()
    return total, list(conn.scalars(select(column).where(users.c.id.in_(ids))
                                    .order_by(users.c.user_name)))


def search_equal(
    session: Session, tenant_id: int, column: str, value: str, start_index: int, count: int
) -> tuple[int, list[Resource]]:
    """``search`` for ``column = value`` (see fastfilter), with statements built once."""
    page, total = _EQUAL_QUERIES[column]
    values = {"tenant_id": tenant_id, "value": value, "limit": count, "offset": start_index - 1}
    return _paged(session, page, total, values, count)


def _page_query(condition: ColumnElement[bool]) -> Select[Any]:
    """The matching resources in ``search``'s order (userName), each with the total count.

    Only for equality on a unique-ish column, where a page reads at most a few rows.
    """
    return (select(users.c.resource, func.count().over().label("total"))
            .where(condition).order_by(users.c.user_name))


def _paged(
    session: Session, page: Select[Any], total: Select[Any], values: dict[str, Any], count: int
) -> tuple[int, list[Resource]]:
    """Run a page query; an empty page (or count 0) still needs the total, by count(*)."""
    rows: Sequence[Any] = session.connection().execute(page, values).all() if count > 0 else []
    if rows:
        return int(rows[0].total), [row.resource for row in rows]
    return int(session.connection().scalar(total, values) or 0), []


def _equal_queries(column: str) -> tuple[Select[Any], Select[Any]]:
    condition = (users.c.tenant_id == bindparam("tenant_id")) & (
        users.c[column] == bindparam("value"))
    page = _page_query(condition).limit(bindparam("limit")).offset(bindparam("offset"))
    return page, select(func.count()).select_from(users).where(condition)


_EQUAL_QUERIES = {column: _equal_queries(column) for column in ("user_name", "external_id")}


def replace(
    session: Session, tenant_id: int, user_id: str, data: Resource, if_match: str | None = None
) -> Resource:
    """PUT: the stored user becomes ``data`` (stored form); id and meta.created are kept."""
    row = get(session, tenant_id, user_id, lock=True)
    check_if_match(if_match, row.version)
    return _save(session, tenant_id, user_id, row, dict(data))


def patch(
    session: Session, tenant_id: int, user_id: str, patch_op: PatchOp[Any],
    if_match: str | None = None,
) -> Resource:
    """PATCH (RFC 7644 §3.5.2) applied by scim2-models to the stored user."""
    row = get(session, tenant_id, user_id, lock=True)
    check_if_match(if_match, row.version)
    patched = apply_patch(row.resource, patch_op)
    if patched is None:
        return dict(row.resource)
    return _save(session, tenant_id, user_id, row, patched)


def _save(session: Session, tenant_id: int, user_id: str, row: Any, data: Resource) -> Resource:
    """Write a new state of a user: a new version unless nothing changed."""
    data.pop("meta", None)
    data.pop("id", None)
    current = {k: v for k, v in row.resource.items() if k not in ("id", "meta")}
    if data == current:
        return dict(row.resource)
    columns = index_columns(data)
    if columns["user_name"] != row.resource["userName"].lower():  # else it is its own
        ensure_unique(session, tenant_id, columns["user_name"], own_id=user_id)
    moment, version = write_moment(), row.version + 1
    data = _with_meta(data, user_id, row.created, moment, version)
    try:
        session.connection().execute(_SAVE, {"uid": user_id, "last_modified": moment,
                                             "version": version, "resource": data, **columns})
    except IntegrityError as exc:  # a concurrent write took the userName meanwhile
        raise UniquenessException(detail="userName is already taken.") from exc
    mails = email_rows(user_id, data)
    if mails != email_rows(user_id, row.resource):  # the email rows only change with them
        session.connection().execute(_DROP_EMAILS, {"uid": user_id})
        _write_emails(session, mails)
    return data


def remove(session: Session, tenant_id: int, user_id: str, if_match: str | None = None) -> None:
    """DELETE: the user and its emails are gone; its id answers 404 from now on."""
    row = get(session, tenant_id, user_id, lock=True)
    check_if_match(if_match, row.version)
    session.connection().execute(_DROP_EMAILS, {"uid": user_id})
    session.connection().execute(delete(users).where(users.c.id == user_id))
