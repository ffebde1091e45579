"""The points of Microsoft Entra's SCIM profile, one small test each."""

from __future__ import annotations

import httpx
import pytest

from tests.scview.conftest import ENTERPRISE, create_user, found_ids, patch_body, unique


@pytest.mark.parametrize("op", ["Replace", "replace", "REPLACE"])
def test_patch_op_names_are_case_insensitive(alpha: httpx.Client, op: str) -> None:
    created = create_user(alpha)
    operation = {"op": op, "path": "name.givenName", "value": "Babs"}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.status_code == 200
    assert response.json()["name"]["givenName"] == "Babs"


def test_add_and_remove_in_any_case(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    operations = [
        {"op": "Add", "path": "title", "value": "Teacher"},
        {"op": "Remove", "path": "phoneNumbers"},
    ]
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(*operations))
    assert response.json()["title"] == "Teacher"
    assert "phoneNumbers" not in response.json()


@pytest.mark.parametrize(("sent", "stored"), [("False", False), ("True", True)])
def test_active_as_a_string_in_patch(alpha: httpx.Client, sent: str, stored: bool) -> None:
    created = create_user(alpha, active=not stored)
    operation = {"op": "Replace", "path": "active", "value": sent}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.status_code == 200
    assert response.json()["active"] is stored
    assert found_ids(alpha, f'userName eq "{created["userName"]}" and active eq {sent.lower()}')


def test_active_as_a_string_in_a_no_path_patch(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    operation = {"op": "Replace", "value": {"active": "False"}}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.json()["active"] is False


def test_active_as_a_string_on_create(alpha: httpx.Client) -> None:
    assert create_user(alpha, active="False")["active"] is False


def test_filter_on_user_name(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    assert found_ids(alpha, f'userName eq "{created["userName"]}"') == {created["id"]}


def test_filter_on_external_id(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    assert found_ids(alpha, f'externalId eq "{created["externalId"]}"') == {created["id"]}


def test_filter_on_work_email_value_path(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    email = created["emails"][0]["value"]
    assert found_ids(alpha, f'emails[type eq "work"].value eq "{email}"') == {created["id"]}
    assert found_ids(alpha, f'emails[type eq "home"].value eq "{email}"') == set()


def test_patch_work_email_value_path_creates_or_updates(alpha: httpx.Client) -> None:
    created = create_user(alpha, emails=[])
    path = 'emails[type eq "work"].value'
    for address in ("first@example.org", "second@example.org"):
        operation = {"op": "Add", "path": path, "value": address}
        response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
        assert response.status_code == 200, response.text
    assert response.json()["emails"] == [{"type": "work", "value": "second@example.org"}]
    assert found_ids(alpha, f'{path} eq "second@example.org"') == {created["id"]}


def test_patch_remove_with_a_value_path_filter(alpha: httpx.Client) -> None:
    work = {"value": f"{unique()}@example.org", "type": "work", "primary": True}
    home = {"value": f"{unique()}@home.example", "type": "home"}
    created = create_user(alpha, emails=[work, home])
    operation = {"op": "remove", "path": 'emails[type eq "work"]'}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [home]
    assert found_ids(alpha, f'emails.value eq "{work["value"]}"') == set()
    assert found_ids(alpha, f'emails[type eq "home"].value eq "{home["value"]}"') == {
        created["id"]}


def test_patch_enterprise_extension_urn_path(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    number = unique("E")
    operation = {"op": "replace", "path": f"{ENTERPRISE}:employeeNumber", "value": number}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.json()[ENTERPRISE]["employeeNumber"] == number
    assert found_ids(alpha, f'employeeNumber eq "{number}"') == {created["id"]}


def test_deactivated_users_are_still_listed(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    operation = {"op": "Replace", "path": "active", "value": "False"}
    alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert found_ids(alpha, f'externalId eq "{created["externalId"]}"') == {created["id"]}
    assert alpha.get(f"/Users/{created['id']}").json()["active"] is False


def test_no_path_patch_with_attribute_path_keys(alpha: httpx.Client) -> None:
    """Entra's way: one operation, no path, a value object keyed by attribute paths."""
    created = create_user(alpha)
    value = {
        'emails[type eq "work"].value': "new-address@example.org",
        "name.familyName": "Jensen-Smith",
        f"{ENTERPRISE}:employeeNumber": "E-999",
        "active": "False",
    }
    operation = {"op": "Add", "value": value}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["emails"][0]["value"] == "new-address@example.org"
    assert user["name"]["familyName"] == "Jensen-Smith"
    assert user[ENTERPRISE]["employeeNumber"] == "E-999"
    assert user["active"] is False
    assert found_ids(alpha, 'name.familyName eq "jensen-smith" and employeeNumber eq "e-999"') == {
        created["id"]
    }
