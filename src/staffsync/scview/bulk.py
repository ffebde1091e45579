"""SCIM Bulk (RFC 7644 §3.7): many user operations in one request and one transaction.

Limits: at most ``MAX_OPERATIONS`` operations (more: 413) in at most ``MAX_PAYLOAD``
bytes (checked when the body is read). ``bulkId:<id>`` in a path or a value is replaced
by the id the POST with that bulkId created. Processing stops once ``failOnErrors``
operations have failed. A failed operation writes nothing (every service checks before
it writes), so the others still commit together.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from scim2_models import Context
from sqlalchemy.orm import Session

from staffsync.scview import users
from staffsync.scview.errors import (
    InvalidSyntaxException,
    InvalidValueException,
    MethodNotAllowed,
    NotFoundException,
    PayloadTooLargeException,
    SCIMException,
    error_body,
)
from staffsync.scview.patch import parse_patch
from staffsync.scview.resources import MAX_OPERATIONS, read_user

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
USER_PATH = re.compile(r"/Users(?:/(?P<id>[^/]+))?")
CREATE = Context.RESOURCE_CREATION_REQUEST
BULK_REF = re.compile(r"^bulkId:(?P<ref>.+)$")


def read_operations(body: Any) -> tuple[list[dict[str, Any]], int]:
    """(operations, failOnErrors) of a Bulk request; failOnErrors 0 means no limit."""
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        raise InvalidSyntaxException(detail="A Bulk request has an Operations list.")
    operations = body["Operations"]
    if len(operations) > MAX_OPERATIONS:
        raise PayloadTooLargeException(
            detail=f"A Bulk request holds at most {MAX_OPERATIONS} operations."
        )
    fail_on_errors = body.get("failOnErrors") or 0
    if not isinstance(fail_on_errors, int) or fail_on_errors < 0:
        raise InvalidValueException(detail="failOnErrors is a non-negative integer.")
    return operations, fail_on_errors


def run(session: Session, tenant_id: int, body: Any, base: str) -> dict[str, Any]:
    """Perform a Bulk request; return the BulkResponse JSON."""
    operations, fail_on_errors = read_operations(body)
    ids: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    errors = 0
    refers = _refers(operations)
    for run_ in _runs(operations):
        budget = fail_on_errors - errors if fail_on_errors else 0
        answers = _many(session, tenant_id, run_, ids, base, budget, refers)
        results.extend(answers)
        errors += sum(int(answer["status"]) >= 400 for answer in answers)
        if fail_on_errors and errors >= fail_on_errors:
            break
    return {"schemas": [BULK_RESPONSE], "Operations": results}


def _refers(operations: list[Any]) -> bool:
    """Whether any operation's data may hold a "bulkId:<id>" reference. A string that
    starts with it is written by orjson as ``"bulkId:``, so one pass over the request
    tells, where walking every user's data cost a tenth of a Bulk of new users."""
    data = [operation.get("data") for operation in operations if isinstance(operation, dict)]
    return b'"bulkId:' in orjson.dumps(data)


def _is_post(operation: Any) -> bool:
    return isinstance(operation, dict) and str(operation.get("method", "")).upper() == "POST"


def _runs(operations: list[Any]) -> list[list[Any]]:
    """Operations cut into runs: consecutive POSTs together, every other one alone."""
    runs: list[list[Any]] = []
    for operation in operations:
        if runs and _is_post(operation) and _is_post(runs[-1][0]):
            runs[-1].append(operation)
        else:
            runs.append([operation])
    return runs


def _many(
    session: Session, tenant_id: int, run_: list[Any], ids: dict[str, str], base: str,
    budget: int, refers: bool,
) -> list[dict[str, Any]]:
    """A run of operations: POSTs as one batch (see users.plan_creates), anything else
    one by one. With a ``budget`` (errors left before failOnErrors stops the request),
    the run ends at the error that exhausts it; nothing after that error is written.
    Without ``refers`` (see ``_refers``) the POSTs' data is read as it is."""
    if not _is_post(run_[0]):
        return _each(session, tenant_id, run_, ids, base, budget)
    outcomes = _cut(_planned_posts(session, tenant_id, run_, ids, refers), budget)
    users.insert_created(session, [row for row in outcomes if isinstance(row, dict)])
    return [_answer(op, row if isinstance(row, SCIMException) else row["resource"], ids, base)
            for op, row in zip(run_, outcomes, strict=False)]


def _each(
    session: Session, tenant_id: int, run_: list[Any], ids: dict[str, str], base: str,
    budget: int,
) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for operation in run_:
        answers.append(_one(session, tenant_id, operation, ids, base))
        budget -= int(answers[-1]["status"]) >= 400
        if budget == 0:  # a budget of 0 from the start means no limit; it only goes below
            break
    return answers


def _planned_posts(
    session: Session, tenant_id: int, run_: list[Any], ids: dict[str, str], refers: bool
) -> list[Any]:
    """Per POST of a run, in order: its planned row, or the error that refuses it."""
    outcomes: list[Any] = []
    readable: list[tuple[int, dict[str, Any]]] = []
    for index, operation in enumerate(run_):
        try:
            _target(operation, ids, needs_id=False)
            data = operation.get("data")
            readable.append((index, read_user(_resolve(data, ids) if refers else data, CREATE)))
            outcomes.append(None)
        except SCIMException as exc:
            outcomes.append(exc)
    planned = users.plan_creates(session, tenant_id, [data for _, data in readable])
    for (index, _), outcome in zip(readable, planned, strict=True):
        outcomes[index] = outcome
    return outcomes


def _cut(outcomes: list[Any], budget: int) -> list[Any]:
    """The outcomes up to and including the error that exhausts ``budget`` (0: all)."""
    if budget <= 0:
        return outcomes
    for index, outcome in enumerate(outcomes):
        budget -= isinstance(outcome, SCIMException)
        if budget == 0:
            return outcomes[: index + 1]
    return outcomes


def _answer(
    operation: dict[str, Any], outcome: Any, ids: dict[str, str], base: str
) -> dict[str, Any]:
    if not isinstance(outcome, SCIMException):
        _remember(operation, ids, outcome["id"])
    return _result("POST", operation, outcome, base)


def _result(method: str, operation: Any, outcome: Any, base: str) -> dict[str, Any]:
    """One entry of the BulkResponse: the outcome (resource, None, or error) of one operation."""
    answer: dict[str, Any] = {"method": method}
    if isinstance(operation, dict) and operation.get("bulkId"):
        answer["bulkId"] = operation["bulkId"]
    if isinstance(outcome, SCIMException):
        status, error = error_body(outcome)
        return {**answer, "status": str(status), "response": error}
    return {**answer, **_success(method, outcome, operation, base)}


def _one(
    session: Session, tenant_id: int, operation: Any, ids: dict[str, str], base: str
) -> dict[str, Any]:
    method = str(operation.get("method", "")).upper() if isinstance(operation, dict) else ""
    try:
        outcome: Any = _perform(session, tenant_id, method, operation, ids)
    except SCIMException as exc:
        outcome = exc
    return _result(method, operation, outcome, base)


def _success(
    method: str, resource: dict[str, Any] | None, operation: dict[str, Any], base: str
) -> dict[str, Any]:
    if resource is None:
        return {"status": "204", "location": f"{base}{operation['path']}"}
    location = f"{base}/Users/{resource['id']}"  # as http.published sets it, without a copy
    status = "201" if method == "POST" else "200"
    return {"status": status, "location": location, "version": resource["meta"]["version"]}


def _perform(
    session: Session, tenant_id: int, method: str, operation: Any, ids: dict[str, str]
) -> dict[str, Any] | None:
    if not isinstance(operation, dict):
        raise InvalidSyntaxException(detail="Each Bulk operation is a JSON object.")
    user_id = _target(operation, ids, needs_id=method != "POST")
    data = _resolve(operation.get("data"), ids)
    version = operation.get("version")
    if method == "POST":
        user = read_user(data, Context.RESOURCE_CREATION_REQUEST)
        created = users.create(session, tenant_id, user)
        _remember(operation, ids, created["id"])
        return created
    if method == "PUT":
        user = read_user(data, Context.RESOURCE_REPLACEMENT_REQUEST)
        return users.replace(session, tenant_id, user_id, user, version)
    if method == "PATCH":
        return users.patch(session, tenant_id, user_id, parse_patch(data), version)
    if method == "DELETE":
        users.remove(session, tenant_id, user_id, version)
        return None
    raise MethodNotAllowed(detail=f"Bulk method {method or '(none)'} is not supported.")


def _target(operation: dict[str, Any], ids: dict[str, str], needs_id: bool) -> str:
    """The user id a Bulk path names ("" for "/Users"), with bulkId references resolved."""
    match = USER_PATH.fullmatch(str(operation.get("path", "")))
    if match is None:
        raise NotFoundException(detail=f"Bulk path {operation.get('path')!r} is not /Users.")
    user_id = match.group("id") or ""
    if needs_id != bool(user_id):
        raise InvalidValueException(detail="POST takes /Users; PUT, PATCH and DELETE /Users/{id}.")
    return str(_resolve(user_id, ids))


def _remember(operation: dict[str, Any], ids: dict[str, str], user_id: str) -> None:
    if operation.get("bulkId"):
        ids[str(operation["bulkId"])] = user_id


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every "bulkId:<id>" string replaced by the id created for it."""
    if isinstance(value, str):
        match = BULK_REF.match(value)
        if match is None:
            return value
        if match.group("ref") not in ids:
            raise InvalidValueException(detail=f"Unknown bulkId reference {value!r}.")
        return ids[match.group("ref")]
    if isinstance(value, list):
        return [_resolve(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, ids) for key, item in value.items()}
    return value
