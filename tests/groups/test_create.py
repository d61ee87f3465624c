"""CreateGroup and GetGroup: initial members, request_id replay (AIP-155), and
displayName and externalId unique per tenant, also when creates race."""

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from identity.v1 import group_pb2

from tests.groups.support import Code, Directory, refused
from tests.helpers import error_info, field_violations


def test_a_group_is_created_without_members(directory: Directory) -> None:
    """CreateGroup returns the new group (AIP-133); GetGroup reads it back."""
    created = directory.group("Engineering", external_id="okta-42")

    assert created.name == f"{directory.tenant.parent}/groups/{created.id}"
    assert (created.display_name, created.external_id) == ("Engineering", "okta-42")
    assert (created.member_count, created.etag) == (0, 'W/"1"')
    assert created.create_time.seconds > 0
    assert not created.HasField("delete_time")
    assert directory.get(created.name) == created


def test_a_group_is_created_with_users_and_nested_groups_as_initial_members(
    directory: Directory,
) -> None:
    """CreateGroup's members may be users and groups of the tenant."""
    alice, bob = directory.user(), directory.user()
    nested = directory.group()

    created = directory.group(members=[alice.name, bob.name, nested.name])

    assert created.member_count == 3
    kinds = {m.member: m.type for m in directory.members(created.name)}
    assert kinds == {
        alice.name: group_pb2.Member.USER,
        bob.name: group_pb2.Member.USER,
        nested.name: group_pb2.Member.GROUP,
    }


def test_a_group_is_read_through_the_callers_own_tenant_dash(directory: Directory) -> None:
    """AIP-159: the tenant "-" stands for the caller's own; answers carry the real name."""
    created = directory.group()

    got = directory.get(f"tenants/-/groups/{created.id}")

    assert got.name == created.name


def test_create_group_replays_the_first_answer_for_a_request_id(directory: Directory) -> None:
    """AIP-155: a retried CreateGroup returns the first answer and creates nothing."""
    first = directory.group("Ops", request_id="create-ops")

    again = directory.group("Ops", request_id="create-ops")

    assert again == first
    assert directory.list_groups().total_size == 1


def test_a_request_id_reused_for_another_request_is_invalid(directory: Directory) -> None:
    """AIP-155: one request_id names one request; another one under it is refused."""
    directory.group("Ops", request_id="create-ops")

    refused(
        lambda: directory.group("Sales", request_id="create-ops"),
        Code.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [("Engineering", "engineering"), ("Straße", "STRASSE"), ("Café", "CAFE\u0301")],
)
def test_a_display_name_taken_in_another_case_is_already_exists(
    directory: Directory, first: str, second: str
) -> None:
    """displayName is unique per tenant after NFC and case folding (RFC 7643 §4.2)."""
    directory.group(first)

    refused(lambda: directory.group(second), Code.ALREADY_EXISTS, "GROUP_NAME_TAKEN")


def test_a_taken_external_id_is_already_exists(directory: Directory) -> None:
    """externalId is unique per tenant among live groups."""
    directory.group(external_id="okta-1")

    refused(lambda: directory.group(external_id="okta-1"), Code.ALREADY_EXISTS, "EXTERNAL_ID_TAKEN")


def test_external_ids_differing_in_case_are_distinct(directory: Directory) -> None:
    """externalId is compared exactly (RFC 7643 §3.1, caseExact)."""
    directory.group(external_id="okta-1")

    assert directory.group(external_id="OKTA-1").external_id == "OKTA-1"


def test_the_same_display_name_in_another_tenant_is_free(
    directory: Directory, elsewhere: Directory
) -> None:
    """Uniqueness is per tenant: every unique index includes the tenant."""
    directory.group("Engineering", external_id="x")

    assert elsewhere.group("Engineering", external_id="x").display_name == "Engineering"


def test_concurrent_creates_of_one_name_in_different_cases_end_with_one_winner(
    directory: Directory,
) -> None:
    """Uniqueness is the database's: racing creates leave one group, the rest GROUP_NAME_TAKEN."""
    names = ["Engineering", "engineering", "ENGINEERING", "EnGiNeErInG"] * 2

    def create(name: str) -> str:
        try:
            directory.group(name)
        except grpc.RpcError as error:
            return str(error_info(error).reason)
        return "OK"

    with ThreadPoolExecutor(len(names)) as pool:
        outcomes = sorted(pool.map(create, names))

    assert outcomes == ["GROUP_NAME_TAKEN"] * (len(names) - 1) + ["OK"]
    assert directory.list_groups().total_size == 1


def test_an_invalid_display_name_is_a_violation_of_the_request_field(directory: Directory) -> None:
    """Field violations name the field's path in the request (AIP-193)."""
    error = refused(lambda: directory.group(" padded"), Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert "group.display_name" in field_violations(error)
