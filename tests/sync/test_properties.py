"""Properties that must hold for any input: mapping round trip, bulk batching bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from staffsync.sync.executor import BULK_ENVELOPE, batches
from staffsync.sync.mapping import comparable_of_scim, comparable_of_snapshot, to_scim
from staffsync.sync.snapshot import UserSnapshot

text = st.text(min_size=1, max_size=20)
snapshots = st.builds(
    UserSnapshot,
    staff_key=text,
    username=text,
    staff_id=st.none() | text,
    first_name=st.none() | text,
    last_name=st.none() | text,
    email=st.none() | text,
    phone=st.none() | text,
    phone_type=st.none() | st.sampled_from(["cell", "home", "work"]),
    active=st.booleans(),
)


@given(snapshots)
def test_mapping_round_trips(snapshot: UserSnapshot) -> None:
    assert comparable_of_scim(to_scim(snapshot)) == comparable_of_snapshot(snapshot)


@given(
    st.lists(st.integers(min_value=0, max_value=500), max_size=60),
    st.integers(min_value=1, max_value=10),
    st.sampled_from([0, BULK_ENVELOPE + 600, BULK_ENVELOPE + 2000]),
)
def test_batches_respect_both_limits(sizes: list[int], max_ops: int, max_bytes: int) -> None:
    found = list(batches(list(enumerate(sizes)), max_ops, max_bytes))
    assert [i for batch in found for i in batch] == list(range(len(sizes)))
    for batch in found:
        assert 1 <= len(batch) <= max_ops
        used = BULK_ENVELOPE + sum(sizes[i] + 1 for i in batch)
        assert len(batch) == 1 or not max_bytes or used <= max_bytes
