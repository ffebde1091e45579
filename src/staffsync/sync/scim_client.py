"""A SCIM 2.0 client on httpx that turns every failure into a catalogue entry.

Classification is by what actually happened on the wire (DESIGN.md "Error catalogue"):
the transport error, the HTTP status, and whether the body is SCIM error JSON. The
token lives only in the ``Authorization`` header: it is never in a message, a detail,
a log line or a repr.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from staffsync.sync import catalogue as c
from staffsync.sync.mapping import EMPLOYEE_NUMBER, SYNCED_ATTRIBUTES, patch_request

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
DEFAULT_PAGE = 500
PREFETCH = 4  # listing pages in flight at once
DISCOVERY_TTL = 60.0  # seconds a /ServiceProviderConfig answer is reused


@dataclass(frozen=True, slots=True)
class Target:
    """Third Party Configuration: where SCView is and how to prove who we are."""

    end_point: str
    database: str
    token: str = field(repr=False)

    @property
    def base_url(self) -> str:
        """Contract URL layout: ``{End Point}/{Database name}/scim/v2``."""
        return f"{self.end_point.rstrip('/')}/{self.database.strip('/')}/scim/v2"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What /ServiceProviderConfig advertises (RFC 7643 section 5)."""

    patch: bool = False
    bulk: bool = False
    max_operations: int = 0
    max_payload_size: int = 0
    filter: bool = False
    max_results: int = 0
    etag: bool = False

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Capabilities:
        def part(name: str) -> dict[str, Any]:
            value = doc.get(name)
            return value if isinstance(value, dict) else {}

        bulk, filter_ = part("bulk"), part("filter")
        return cls(
            patch=bool(part("patch").get("supported")),
            bulk=bool(bulk.get("supported")) and int(bulk.get("maxOperations") or 0) > 0,
            max_operations=int(bulk.get("maxOperations") or 0),
            max_payload_size=int(bulk.get("maxPayloadSize") or 0),
            filter=bool(filter_.get("supported")),
            max_results=int(filter_.get("maxResults") or 0),
            etag=bool(part("etag").get("supported")),
        )


@dataclass(frozen=True, slots=True)
class BulkResult:
    """One operation's answer inside a /Bulk response."""

    bulk_id: str
    status: int
    error: c.SyncError | None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def transport_error(exc: httpx.HTTPError, host: str) -> c.ConfigurationError:
    """The catalogue entry for a request that got no HTTP answer at all."""
    detail = f"{type(exc).__name__}: {exc}"
    if _caused_by(exc, socket.gaierror):
        return c.NameNotResolved(host, detail)
    if _caused_by(exc, ssl.SSLError) or isinstance(exc, httpx.UnsupportedProtocol):
        return c.EndPointIncorrect(detail)
    if isinstance(exc, httpx.TimeoutException):
        return c.ServiceDown(f"no answer from {host} in time ({type(exc).__name__})")
    return c.ServiceDown(detail)


def scim_error_body(response: httpx.Response) -> dict[str, Any] | None:
    """The SCIM error JSON of a response, or None when the body is not one."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(body, dict) and SCIM_ERROR in (body.get("schemas") or []):
        return body
    return None


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds from ``now``: the delta-seconds form, or an HTTP date
    (RFC 9110 10.2.3); never negative; None when absent or unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; obsolete forms may omit the zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP status with what a SCIM client may read of it."""

    status: int
    scim_error: dict[str, Any] | None
    is_json: bool = True
    retry_after: str | None = None
    content_type: str = ""

    @property
    def detail(self) -> str:
        if self.scim_error is not None:
            said = self.scim_error.get("detail") or self.scim_error.get("scimType") or ""
            return f"HTTP {self.status}: {said}"
        return f"HTTP {self.status} ({self.content_type or 'no content type'})"


def classify(answer: Answer, *, on_resource: bool, username: str | None) -> c.SyncError | None:
    """The catalogue entry of an HTTP answer, or None for a success.

    ``on_resource``: the request named one user (/Users/{id}); a SCIM 404 there means
    that user is gone, while on a tenant-level path it means the database is unknown.
    """
    status, scim = answer.status, answer.scim_error
    if status < 300:
        return None if answer.is_json else c.EndPointIncorrect(answer.detail)
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status in (401, 403):
        return c.TokenOrDatabaseIncorrect(answer.detail)
    if status == 404 and scim is not None:
        gone = c.UserGone if on_resource else c.TokenOrDatabaseIncorrect
        return gone(answer.detail)
    if status == 409 and scim is not None and username:
        return c.UsernameConflict(username, answer.detail)
    if status == 429:
        return c.RateLimited(retry_after(answer.retry_after), answer.detail)
    if status in (502, 503, 504):
        return c.ServiceDown(answer.detail)
    if status >= 500:
        return c.ServerError(status, reason, answer.detail)
    if scim is None:  # a 4xx that is not SCIM error JSON: this is not a SCIM server
        return c.EndPointIncorrect(answer.detail)
    return c.Rejected(status, reason, answer.detail)


def _parses(response: httpx.Response) -> bool:
    try:
        response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return True


def answer_of(response: httpx.Response) -> Answer:
    content_type = response.headers.get("content-type", "")
    # Lenient on the label: some servers send SCIM JSON as text/plain.
    is_json = not response.content or "json" in content_type or _parses(response)
    return Answer(
        status=response.status_code,
        scim_error=scim_error_body(response) if response.status_code >= 300 else None,
        is_json=is_json,
        retry_after=response.headers.get("retry-after"),
        content_type=content_type.split(";")[0],
    )


THROTTLE_RETRIES = 2
THROTTLE_WAIT_CAP = 5.0


def throttle_wait(retry_after: float | None, attempt: int) -> float | None:
    """Seconds to wait before retrying a 429, or None to give up and report it.

    ``attempt`` counts from 0. Wait ``retry_after`` if the server gave one, else
    ``0.25 * 2**attempt``; give up after ``THROTTLE_RETRIES`` retries or when the wait
    would exceed ``THROTTLE_WAIT_CAP`` (a long wait belongs to the worker's backoff,
    not to a request the user is waiting on).
    """
    if attempt >= THROTTLE_RETRIES:
        return None
    wait = 0.25 * 2**attempt if retry_after is None else retry_after
    return wait if wait <= THROTTLE_WAIT_CAP else None


def filter_literal(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 3.4.2.2 uses JSON string syntax)."""
    return json.dumps(value)


def attribute_of(user: dict[str, Any], attribute: str) -> Any:
    if attribute == EMPLOYEE_NUMBER:
        return (user.get(EMPLOYEE_NUMBER.rpartition(":")[0]) or {}).get("employeeNumber")
    return user.get(attribute)


def same(attribute: str, have: Any, want: str) -> bool:
    """Filter equality as a server applies it: userName is case-insensitive (RFC 7643)."""
    if attribute == "userName" and isinstance(have, str):
        return have.casefold() == want.casefold()
    return bool(have == want)


@cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), made once:
    loading the CA bundle cost ~90 ms for every client, i.e. every sync run and push,
    even over plain http. An SSLContext may be shared by clients and threads."""
    return httpx.create_ssl_context()


_JSON = {"Content-Type": "application/json"}  # what httpx's json= sends
# (base URL, token digest) -> (capabilities, monotonic expiry); dict updates are atomic
_discovered: dict[tuple[str, str], tuple[Capabilities, float]] = {}


class ScimClient:
    """One tenant of a SCIM 2.0 service provider, over a pooled, thread-safe httpx.Client."""

    def __init__(
        self,
        target: Target,
        *,
        timeout: float = 10.0,
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = "staffsync",
    ) -> None:
        parts = urlsplit(target.end_point)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise c.EndPointIncorrect("the End Point is not an http(s) URL")
        if not target.database.strip("/ "):
            raise c.TokenOrDatabaseIncorrect("the Database name is empty")
        self.base_url = target.base_url
        self.host = parts.hostname
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {target.token}",
                "Accept": "application/scim+json, application/json",
                "User-Agent": user_agent,  # which worker pushed, in SCView's logs
            },
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
            verify=_tls(),
        )
        self._capabilities: Capabilities | None = None
        self._token_digest = hashlib.sha256(target.token.encode()).hexdigest()
        self._unfilterable: set[str] = set()

    def __repr__(self) -> str:
        return f"ScimClient({self.base_url!r})"

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the wire ------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        on_resource: bool = False,
        username: str | None = None,
    ) -> Any:
        """Send one request; return its JSON body (None when empty) or raise its entry.

        A 429 is retried after Retry-After as ``throttle_wait`` allows.
        """
        for attempt in itertools.count():
            response = self._request(method, path, body, params)
            error = classify(answer_of(response), on_resource=on_resource, username=username)
            if error is None:
                return self._json(response)
            if not isinstance(error, c.RateLimited):
                raise error
            wait = throttle_wait(error.retry_after, attempt)
            if wait is None:
                raise error
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _request(
        self, method: str, path: str, body: Any, params: dict[str, Any] | None
    ) -> httpx.Response:
        try:
            if body is None:
                return self._http.request(method, path, params=params)
            # orjson, not httpx's json module: a Bulk of 1,000 users is about 280 KB
            return self._http.request(method, path, content=orjson.dumps(body),
                                      headers=_JSON, params=params)
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.host) from exc
        except httpx.InvalidURL as exc:
            raise c.EndPointIncorrect(f"InvalidURL: {exc}") from exc

    def _json(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:  # orjson: a listing page of 500 users parses in a fraction of json's time
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:  # also invalid UTF-8 (RFC 8259 8.1)
            raise c.EndPointIncorrect(f"HTTP {response.status_code}: the body is not JSON") from exc

    # -- discovery -----------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """/ServiceProviderConfig, read once per client and shared for ``DISCOVERY_TTL``
        seconds by clients of the same tenant and token (a sync one user costs one
        request less); a failure is never kept."""
        if self._capabilities is None:
            key = (self.base_url, self._token_digest)
            kept = _discovered.get(key)
            if kept is not None and kept[1] > time.monotonic():
                self._capabilities = kept[0]
            else:
                self._capabilities = self._discover()
                _discovered[key] = (self._capabilities, time.monotonic() + DISCOVERY_TTL)
        return self._capabilities

    def _discover(self) -> Capabilities:
        doc = self.send("GET", "/ServiceProviderConfig")
        try:
            return Capabilities.from_json(doc)
        except (AttributeError, TypeError, ValueError) as exc:
            raise c.EndPointIncorrect("/ServiceProviderConfig is not SCIM") from exc

    def check(self) -> Capabilities:
        """Test Connection: discovery (always afresh), then one authenticated read
        (discovery needs no token)."""
        self._capabilities = capabilities = self._discover()
        self.send("GET", "/Users", params={"startIndex": 1, "count": 1})
        return capabilities

    # -- reads ---------------------------------------------------------------------------

    def iter_users(
        self, page_size: int | None = None, prefetch: int = PREFETCH
    ) -> Iterator[dict[str, Any]]:
        """Every user of the tenant, synced attributes only, in startIndex order.

        The first page gives ``totalResults``; the pages after it are independent
        (RFC 7644 3.4.2.4), so up to ``prefetch`` of them are fetched at once, in a
        bounded window. A page shorter than the first one (a server may return fewer
        than asked) is completed by reading on from where it ended, so none is missed.
        """
        count = page_size or min(self.capabilities().max_results or DEFAULT_PAGE, 1000)
        first, total = self._page(1, count)
        yield from first
        size = len(first)
        if not size or size >= total:
            return
        starts = iter(range(1 + size, total + 1, size))
        with ThreadPoolExecutor(max_workers=max(1, prefetch)) as pool:
            window: deque[tuple[int, Future[tuple[list[dict[str, Any]], int]]]] = deque(
                (start, pool.submit(self._page, start, size))
                for start in itertools.islice(starts, prefetch)
            )
            while window:
                start, future = window.popleft()
                page, _ = future.result()
                window.extend((s, pool.submit(self._page, s, size))
                              for s in itertools.islice(starts, 1))
                yield from page
                end = min(start + size, total + 1)
                if page and start + len(page) < end:
                    yield from self._read_on(start + len(page), end)

    def _page(self, start: int, count: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the listing and its ``totalResults``."""
        params = {"startIndex": start, "count": count, "attributes": SYNCED_ATTRIBUTES}
        page = self.send("GET", "/Users", params=params)
        return list(page.get("Resources") or []), int(page.get("totalResults") or 0)

    def _read_on(self, start: int, end: int) -> Iterator[dict[str, Any]]:
        """The users from ``start`` up to (not including) ``end``, one page after another."""
        while start < end:
            page, _ = self._page(start, end - start)
            if not page:
                return
            yield from page
            start += len(page)

    def search(self, attribute: str, value: str) -> list[dict[str, Any]]:
        """Users whose ``attribute`` equals ``value``.

        Uses a filter when the server supports one on this attribute; otherwise (filter
        not advertised, or refused as 400 for this attribute) it scans the paged listing.
        Results are checked again here, for servers that ignore a filter they don't know.
        """
        if self.capabilities().filter and attribute not in self._unfilterable:
            try:
                found = self._filtered(attribute, value)
            except c.Rejected:
                self._unfilterable.add(attribute)
                found = list(self.iter_users())
        else:
            found = list(self.iter_users())
        return [user for user in found if same(attribute, attribute_of(user, attribute), value)]

    def _filtered(self, attribute: str, value: str) -> list[dict[str, Any]]:
        params = {"filter": f"{attribute} eq {filter_literal(value)}",
                  "attributes": SYNCED_ATTRIBUTES}
        page = self.send("GET", "/Users", params=params)
        return list(page.get("Resources") or [])

    # -- writes --------------------------------------------------------------------------

    def create(self, user: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.send("POST", "/Users", body=user, username=user["userName"])
        return created

    def replace(self, user_id: str, user: dict[str, Any]) -> dict[str, Any] | None:
        """PUT: every attribute not in ``user`` is cleared (RFC 7644 3.5.1)."""
        return self.send(
            "PUT", f"/Users/{user_id}", body=user, on_resource=True, username=user["userName"]
        )

    def patch(self, user_id: str, operations: list[dict[str, Any]], username: str) -> None:
        self.send(
            "PATCH",
            f"/Users/{user_id}",
            body=patch_request(operations),
            on_resource=True,
            username=username,
        )

    def bulk(self, operations: list[dict[str, Any]], usernames: dict[str, str]) -> list[BulkResult]:
        """POST /Bulk; each operation needs a ``bulkId`` (``usernames`` maps it to the user)."""
        request = {"schemas": [BULK_REQUEST], "Operations": operations}
        answer = self.send("POST", "/Bulk", body=request)
        return [bulk_result(op, usernames) for op in (answer or {}).get("Operations") or []]


def bulk_result(op: dict[str, Any], usernames: dict[str, str]) -> BulkResult:
    """Classify one operation of a BulkResponse as if it had been its own request."""
    bulk_id = str(op.get("bulkId") or "")
    status = int(str(op.get("status") or "0")[:3] or 0)
    response = op.get("response") if isinstance(op.get("response"), dict) else None
    scim = response if response and SCIM_ERROR in (response.get("schemas") or []) else None
    answer = Answer(status=status, scim_error=scim)
    on_resource = op.get("method") != "POST"
    error = classify(answer, on_resource=on_resource, username=usernames.get(bulk_id))
    return BulkResult(bulk_id, status, error)


def check_connection(target: Target, *, timeout: float = 10.0) -> Capabilities:
    """Third Party Configuration > Test Connection: the capabilities, or the catalogue entry."""
    with ScimClient(target, timeout=timeout) as client:
        return client.check()
