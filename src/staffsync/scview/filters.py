"""SCIM filters (RFC 7644 §3.4.2.2) parsed into a small tree and translated to SQL.

``parse(text)`` gives the tree; ``to_sql(tree)`` gives a SQLAlchemy expression over
``scim_users`` (multi-valued ``emails`` become an ``EXISTS`` on ``scim_emails``). No
filter is ever applied in Python. Bounds: at most ``MAX_LENGTH`` characters and
``MAX_DEPTH`` levels of nesting, else ``invalidFilter``.

Every comparison is NULL-safe (``attr eq v`` is false, never unknown, when the
attribute is absent), so ``not (...)`` means exactly the complement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, true

from staffsync.scview.errors import InvalidFilterException
from staffsync.scview.models import emails, users

MAX_LENGTH = 2048
MAX_DEPTH = 8

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:user:"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"


@dataclass(frozen=True)
class Compare:
    attr: str  # normalised, lower-case path such as "username" or "emails.value"
    op: str  # one of COMPARE_OPS, or "pr"
    value: Any = None


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class ValuePath:
    """``emails[type eq "work"]``, optionally followed by ``.value eq "x"``."""

    attr: str
    inner: Node
    then: Compare | None = None


Node = Compare | Logical | Not | ValuePath

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<punct>[()\[\]])
      | (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[str]:
    """Split a filter into string literals, brackets and words; reject anything else."""
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise InvalidFilterException(detail=f"Unexpected input at character {pos + 1}.")
        tokens.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected and token.lower() != expected):
            wanted = f"'{expected}'" if expected else "more input"
            raise InvalidFilterException(detail=f"Expected {wanted}, found {token or 'the end'}.")
        self.pos += 1
        return token

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidFilterException(detail=f"Filter nested deeper than {MAX_DEPTH} levels.")
        node = self.term()
        while (self.peek() or "").lower() == "or":
            self.take()
            node = Logical("or", node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.factor()
        while (self.peek() or "").lower() == "and":
            self.take()
            node = Logical("and", node, self.factor())
        return node

    def factor(self) -> Node:
        token = self.take()
        if token == "(":
            return self.group()
        if token.lower() == "not":
            self.take("(")
            return Not(self.group())
        return self.attribute_expression(attribute_name(token))

    def group(self) -> Node:
        node = self.expression()
        self.take(")")
        return node

    def attribute_expression(self, attr: str) -> Node:
        if self.peek() == "[":
            return self.value_path(attr)
        op = self.take().lower()
        if op == "pr":
            return Compare(attr, "pr")
        if op not in COMPARE_OPS:
            raise InvalidFilterException(detail=f"Unknown operator '{op}'.")
        return Compare(attr, op, literal(self.take()))

    def value_path(self, attr: str) -> Node:
        self.take("[")
        inner = self.expression()
        self.take("]")
        token = self.peek()
        if token is None or not token.startswith("."):
            return ValuePath(attr, inner)
        self.take()
        then = self.attribute_expression(f"{attr}.{token[1:].lower()}")
        if not isinstance(then, Compare):
            raise InvalidFilterException(detail="A value path cannot be nested.")
        return ValuePath(attr, inner, then)


def attribute_name(token: str) -> str:
    """The lower-case attribute path of a token, without a schema URN prefix."""
    name = token.lower()
    for urn in (CORE_URN, ENTERPRISE_URN):
        if name.startswith(urn):
            return name[len(urn) :]
    if not re.fullmatch(r"[a-z$][a-z0-9_$-]*(\.[a-z$][a-z0-9_$-]*)?", name):
        raise InvalidFilterException(detail=f"'{token}' is not an attribute path.")
    return name


def literal(token: str) -> Any:
    """A comparison value: a JSON string, true, false, null or a number."""
    lowered = token.lower()
    if lowered in ("true", "false", "null"):
        return json.loads(lowered)
    try:
        value = json.loads(token)
    except ValueError:
        raise InvalidFilterException(detail=f"'{token}' is not a valid value.") from None
    if not isinstance(value, str | int | float):
        raise InvalidFilterException(detail=f"'{token}' is not a valid value.")
    return value


def parse(text: str) -> Node:
    """Parse a SCIM filter into a tree, or raise ``invalidFilter``."""
    if len(text) > MAX_LENGTH:
        raise InvalidFilterException(detail=f"Filter longer than {MAX_LENGTH} characters.")
    parser = _Parser(tokenize(text))
    node = parser.expression()
    if parser.peek() is not None:
        raise InvalidFilterException(detail=f"Unexpected '{parser.peek()}'.")
    return node


# --- translation to SQL ------------------------------------------------------------

Column = Any  # a SQLAlchemy column
Kind = Callable[[Any], Any]  # turns a filter value into the stored form, or raises


def _text_lower(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidFilterException(detail="This attribute compares with a string.")
    return value.lower()


def _text_exact(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidFilterException(detail="This attribute compares with a string.")
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # Entra sends booleans as "True"/"False"
    if not isinstance(value, bool):
        raise InvalidFilterException(detail="This attribute compares with true or false.")
    return value


def _timestamp(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilterException(detail=f"'{value}' is not a date-time.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


USER_COLUMNS: dict[str, tuple[Column, Kind]] = {
    "id": (users.c.id, _text_exact),
    "username": (users.c.user_name, _text_lower),
    "externalid": (users.c.external_id, _text_exact),
    "employeenumber": (users.c.employee_number, _text_lower),
    "name.familyname": (users.c.family_name, _text_lower),
    "active": (users.c.active, _boolean),
    "meta.lastmodified": (users.c.last_modified, _timestamp),
    "meta.created": (users.c.created, _timestamp),
}
EMAIL_COLUMNS: dict[str, tuple[Column, Kind]] = {
    "value": (emails.c.value, _text_lower),
    "type": (emails.c.type, _text_lower),
    "primary": (emails.c.primary, _boolean),
}
ORDERED_OPS = frozenset({"gt", "ge", "lt", "le"})


def compare(column: Column, kind: Kind, op: str, value: Any) -> ColumnElement[bool]:
    """One NULL-safe comparison of a column with a filter value."""
    if op == "pr":
        return column.is_not(None)
    if value is None:
        if op in ("eq", "ne"):
            return column.is_(None) if op == "eq" else column.is_not(None)
        raise InvalidFilterException(detail=f"'{op}' cannot compare with null.")
    if kind is _boolean and op not in ("eq", "ne"):
        raise InvalidFilterException(detail=f"'{op}' does not apply to a boolean.")
    value = kind(value)
    if op == "ne":
        return or_(column.is_(None), column != value)
    return and_(column.is_not(None), _operator(column, op, value))


def _operator(column: Column, op: str, value: Any) -> ColumnElement[bool]:
    if op == "eq":
        return column == value
    if op in ORDERED_OPS:
        return getattr(column, f"__{op}__")(value)
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"'{op}' compares strings only.")
    method = {"co": "contains", "sw": "startswith", "ew": "endswith"}[op]
    return getattr(column, method)(value, autoescape=True)


def to_sql(node: Node) -> ColumnElement[bool]:
    """The SQL condition on ``scim_users`` equivalent to a filter tree."""
    if isinstance(node, Logical):
        combine = and_ if node.op == "and" else or_
        return combine(to_sql(node.left), to_sql(node.right))
    if isinstance(node, Not):
        return not_(to_sql(node.inner))
    if isinstance(node, ValuePath):
        return _value_path_sql(node)
    return _compare_sql(node)


def _compare_sql(node: Compare) -> ColumnElement[bool]:
    if node.attr in USER_COLUMNS:
        column, kind = USER_COLUMNS[node.attr]
        return compare(column, kind, node.op, node.value)
    head, _, sub = node.attr.partition(".")
    if head == "emails":
        return _email_exists(_email_sql(Compare(sub or "value", node.op, node.value)))
    raise InvalidFilterException(detail=f"Filtering on '{node.attr}' is not supported.")


def _value_path_sql(node: ValuePath) -> ColumnElement[bool]:
    if node.attr != "emails":
        raise InvalidFilterException(detail=f"Filtering on '{node.attr}[...]' is not supported.")
    condition = _email_tree_sql(node.inner)
    if node.then is not None:
        sub = node.then.attr.partition(".")[2]
        condition = and_(condition, _email_sql(Compare(sub, node.then.op, node.then.value)))
    return _email_exists(condition)


def _email_tree_sql(node: Node) -> ColumnElement[bool]:
    """A filter inside ``emails[...]``: its attributes are the email's sub-attributes."""
    if isinstance(node, Logical):
        combine = and_ if node.op == "and" else or_
        return combine(_email_tree_sql(node.left), _email_tree_sql(node.right))
    if isinstance(node, Not):
        return not_(_email_tree_sql(node.inner))
    if isinstance(node, ValuePath):
        raise InvalidFilterException(detail="A value path cannot be nested.")
    return _email_sql(node)


def _email_sql(node: Compare) -> ColumnElement[bool]:
    if node.attr not in EMAIL_COLUMNS:
        raise InvalidFilterException(detail=f"Filtering on 'emails.{node.attr}' is not supported.")
    column, kind = EMAIL_COLUMNS[node.attr]
    return compare(column, kind, node.op, node.value)


def _email_exists(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    query = select(emails.c.id).where(emails.c.user_id == users.c.id, condition)
    return exists(query.correlate(users))


def condition(text: str | None) -> ColumnElement[bool]:
    """The SQL condition of an optional filter: everything when there is none."""
    return to_sql(parse(text)) if text else true()


__all__ = ["condition", "parse", "to_sql"]
