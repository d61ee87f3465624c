"""The contract is enough: a client generated from protos/ alone, with no
Roster code importable, holding a tenant's credential, can create, list,
deactivate and delete users and groups (issue 2, "Done means")."""

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.helpers import TenantAccess

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 120

CLIENT = textwrap.dedent(
    '''
    """An internal service's client: stubs generated from protos/ and grpcio."""

    import importlib.util
    import json
    import sys

    # Nothing of Roster but the generated stubs may be reachable.
    for package in ("identity_service", "scim_facade", "tests"):
        assert importlib.util.find_spec(package) is None, f"{package} is importable"

    import grpc
    from identity.v1 import (
        group_pb2,
        group_service_pb2,
        group_service_pb2_grpc,
        user_pb2,
        user_service_pb2,
        user_service_pb2_grpc,
    )

    target, secret, parent = sys.argv[1:4]
    auth = (("authorization", f"Bearer {secret}"),)
    report = {"stubs": user_pb2.__file__, "sys_path": sys.path}
    with grpc.insecure_channel(target) as channel:
        users = user_service_pb2_grpc.UserServiceStub(channel)
        groups = group_service_pb2_grpc.GroupServiceStub(channel)
        created = [
            users.CreateUser(
                user_service_pb2.CreateUserRequest(
                    parent=parent,
                    user=user_pb2.User(
                        user_name=user_name,
                        name_parts=user_pb2.Name(given_name=given),
                        emails=[user_pb2.MultiValuedAttribute(value=f"{user_name}@example.com")],
                    ),
                ),
                metadata=auth,
            )
            for user_name, given in (("bjensen", "Barbara"), ("jsmith", "John"))
        ]
        listed = users.ListUsers(
            user_service_pb2.ListUsersRequest(parent=parent, order_by="user_name"),
            metadata=auth,
        )
        report["listed"] = [u.user_name for u in listed.users]
        report["total"] = listed.total_size
        deactivated = users.DeactivateUser(
            user_service_pb2.DeactivateUserRequest(name=created[0].name), metadata=auth
        )
        report["deactivated_state"] = user_pb2.User.State.Name(deactivated.state)
        inactive = users.ListUsers(
            user_service_pb2.ListUsersRequest(parent=parent, filter="active eq false"),
            metadata=auth,
        )
        report["inactive"] = [u.user_name for u in inactive.users]

        group = groups.CreateGroup(
            group_service_pb2.CreateGroupRequest(
                parent=parent, group=group_pb2.Group(display_name="Engineering")
            ),
            metadata=auth,
        )
        group = groups.AddMembers(
            group_service_pb2.AddMembersRequest(
                group=group.name, members=[u.name for u in created]
            ),
            metadata=auth,
        )
        report["member_count"] = group.member_count
        members = groups.ListMembers(
            group_service_pb2.ListMembersRequest(parent=group.name), metadata=auth
        )
        report["members"] = sorted(m.display or m.id for m in members.members)
        report["member_names_match"] = sorted(m.member for m in members.members) == sorted(
            u.name for u in created
        )

        deleted = users.DeleteUser(
            user_service_pb2.DeleteUserRequest(name=created[1].name), metadata=auth
        )
        report["deleted_state"] = user_pb2.User.State.Name(deleted.state)
        try:
            users.GetUser(user_service_pb2.GetUserRequest(name=created[1].name), metadata=auth)
        except grpc.RpcError as error:
            report["get_deleted_user"] = error.code().name
        after = groups.ListMembers(
            group_service_pb2.ListMembersRequest(parent=group.name), metadata=auth
        )
        report["members_after_delete"] = len(after.members)

        deleted_group = groups.DeleteGroup(
            group_service_pb2.DeleteGroupRequest(name=group.name), metadata=auth
        )
        report["group_deleted"] = deleted_group.HasField("delete_time")
        try:
            groups.GetGroup(group_service_pb2.GetGroupRequest(name=group.name), metadata=auth)
        except grpc.RpcError as error:
            report["get_deleted_group"] = error.code().name
    print(json.dumps(report))
    '''
)


def _clean_environment(python_path: list[Path]) -> dict[str, str]:
    """No inherited variables: only the import path we choose."""
    return {"PYTHONPATH": ":".join(str(p) for p in python_path), "PYTHONNOUSERSITE": "1"}


def _run(arguments: list[str], python_path: list[Path], cwd: Path) -> str:
    # -S: no site module, hence no .pth files, hence no editable install of
    # Roster on the path; the installed libraries come in through PYTHONPATH.
    completed = subprocess.run(
        [sys.executable, "-S", *arguments],
        env=_clean_environment(python_path),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """protos/identity/v1/*.proto compiled with grpc_tools.protoc into an
    empty directory, as an internal service's build would."""
    out = tmp_path_factory.mktemp("client")
    site_packages = Path(sysconfig.get_paths()["purelib"])
    protos = sorted(str(p.relative_to(ROOT / "protos")) for p in ROOT.glob("protos/**/*.proto"))
    _run(
        [
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT / 'protos'}",
            f"-I{ROOT / 'third_party' / 'googleapis'}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            *protos,
        ],
        [site_packages],
        cwd=out,
    )
    (out / "client.py").write_text(CLIENT)
    return out


def test_a_client_generated_from_protos_alone_manages_users_and_groups(
    generated: Path, target: str, tenant: TenantAccess
) -> None:
    """A client generated from protos/ alone manages users and groups with a tenant's secret."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    output = _run(
        ["client.py", target, tenant.secret, tenant.parent],
        [generated, site_packages],
        cwd=generated,
    )
    report = json.loads(output)
    assert Path(report["stubs"]).is_relative_to(generated)
    # Of the repository, only the virtualenv's libraries are on the path.
    assert {p for p in report["sys_path"] if Path(p).is_relative_to(ROOT)} == {str(site_packages)}
    assert report["listed"] == ["bjensen", "jsmith"]
    assert report["total"] == 2
    assert report["deactivated_state"] == "DEACTIVATED"
    assert report["inactive"] == ["bjensen"]
    assert report["member_count"] == 2
    assert report["members"] == ["bjensen", "jsmith"]
    assert report["member_names_match"] is True
    assert report["deleted_state"] == "DELETED"
    assert report["get_deleted_user"] == "NOT_FOUND"
    assert report["members_after_delete"] == 1
    assert report["group_deleted"] is True
    assert report["get_deleted_group"] == "NOT_FOUND"
