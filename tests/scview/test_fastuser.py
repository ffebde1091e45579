"""The fast User reader agrees with scim2-models on every body it accepts."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import Context

from staffsync.scview.fastuser import CORE, ENTERPRISE, NAME_PARTS, read_common
from staffsync.scview.resources import parse_user, stored_form
from tests.scview.conftest import user_body

texts = st.one_of(st.text(max_size=8), st.sampled_from(["", " ", "Jensen", "O'Malley"]))
maybe_text = st.one_of(st.none(), texts, st.integers(), st.booleans())
emails = st.one_of(
    st.sampled_from(["a@example.org", "B.J@Example.ORG", "x", "a@b", "a@localhost", " c@d.org ",
                     "A_B%c+d@Sub.Example.COM", "a@xn--bcher-kva.com", "a@b.c1", "a@b.c",
                     "a..b@example.org", ".a@example.org", "a.@example.org", "a@b--c.org",
                     "a@-b.org", "a@mail.test", "a@x.LOCAL", "o'malley@example.org",
                     "Bob <bob@example.org>", "a" * 65 + "@example.org",
                     "a@" + "b" * 64 + ".org", "user@[127.0.0.1]", "δ@example.org"]),
    texts,
)
types = st.sampled_from([None, "work", "home", "other", "mobile", "Work", "weird", 3])
primaries = st.sampled_from([None, True, False, "true"])


def entries(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    entry = st.fixed_dictionaries({"value": values}, optional={"type": types, "primary": primaries})
    return st.one_of(st.none(), st.lists(entry, max_size=3), st.just("not a list"))


bodies = st.fixed_dictionaries(
    {
        "schemas": st.sampled_from([[CORE], [CORE, ENTERPRISE], [ENTERPRISE], [], "x"]),
        "userName": maybe_text,
    },
    optional={
        "externalId": maybe_text,
        "displayName": maybe_text,
        "title": maybe_text,
        "name": st.one_of(
            st.dictionaries(st.sampled_from([*NAME_PARTS, "nickname"]), maybe_text, max_size=3),
            st.none(),
        ),
        "active": st.sampled_from([True, False, "True", "False", "false", "yes", None, 1]),
        "emails": entries(emails),
        "phoneNumbers": entries(st.one_of(texts, st.integers())),
        ENTERPRISE: st.one_of(
            st.dictionaries(st.sampled_from(["employeeNumber", "department", "manager"]),
                            maybe_text, max_size=2),
            st.none(),
        ),
        "password": texts,
    },
)


# Bodies near the usual shape, so that many of them take the fast path.
usual = st.fixed_dictionaries(
    {
        "schemas": st.just([CORE, ENTERPRISE]),
        "userName": texts,
        ENTERPRISE: st.fixed_dictionaries({"employeeNumber": texts}),
    },
    optional={
        "externalId": texts,
        "name": st.dictionaries(st.sampled_from(NAME_PARTS), texts, max_size=3),
        "active": st.sampled_from([True, False, "True", "False"]),
        "emails": st.lists(st.fixed_dictionaries(
            {"value": st.sampled_from(["a@example.org", "B.J@Example.ORG", "x@y.org"])},
            optional={"type": st.sampled_from(["work", "home", "Work"]),
                      "primary": st.sampled_from([True, False])}), max_size=2),
        "phoneNumbers": st.lists(st.fixed_dictionaries(
            {"value": texts}, optional={"type": st.sampled_from(["mobile", "work", "cell"])}),
            max_size=2),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(usual, bodies))
def test_fast_reader_matches_scim2_models_whenever_it_answers(body: dict[str, Any]) -> None:
    fast = read_common(body)
    if fast is not None:
        assert fast == stored_form(parse_user(body, Context.RESOURCE_CREATION_REQUEST))


def test_the_usual_bodies_take_the_fast_path() -> None:
    for body in (user_body(), user_body(active="False"), user_body(emails=[])):
        assert read_common(body) is not None


def test_unusual_bodies_fall_back() -> None:
    assert read_common(user_body(userName=None)) is None
    assert read_common({**user_body(), "id": "client-chosen"}) is None
    assert read_common(user_body(emails=[{"value": "x", "type": "work"}])) is None
