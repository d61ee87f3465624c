"""PATCH on a Group (RFC 7644 §3.5.2) as ONE identity.v1 ModifyGroupRequest:
field changes under an update mask, and member changes as a delta (members
to remove, then members to add) or as the complete new list. The member list
is never read: every operation Okta and Entra send on members names the
members it changes, or replaces them all.

scim2-models validates the body (PatchOp[Group] under the tolerance policy
of scim_facade.patch: op in any case, unknown attributes and schema URNs
dropped, Entra's remove carrying values); this module folds the operations,
in order, into the request:

- add `members` (path, or a no-path value {"members": [...]}): add them;
- remove `members[value eq "x"]`, or several `value eq` joined by `or`:
  remove them; remove `members` with a value list (Entra): remove those;
  remove `members` with no value: the list becomes empty;
- replace `members` (Okta, the full list, [] included): the list becomes it;
- add/replace of displayName or externalId, with a path or as keys of a
  no-path value (Okta's {"id": ..., "displayName": ...}; `id` and the other
  read-only attributes there are ignored, RFC 7643 §2.2); remove externalId.

Re-adding a member or removing an absent one succeeds (identity.v1 makes
them no-ops). What cannot be done without reading the member list is
refused before anything is written: a filter on members other than `value
eq` joined by `or` (400 invalidFilter), a filter on add or replace (400
invalidPath), a member sub-attribute (400 mutability: value, type and $ref
are immutable, display read-only)."""

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import group_pb2, group_service_pb2
from pydantic import ValidationError
from scim2_models import Context, Group, PatchOp, PatchOperation, Path, SCIMException
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
)

from scim_facade import dialects, patch
from scim_facade.errors import ScimError, invalid_value
from scim_facade.mapping import groups as mapping
from scim_facade.parsing import validation_error

Op = PatchOperation.Op
# The group's own fields: scim2-models and identity.v1 name them alike.
_FIELDS = frozenset({"display_name", "external_id"})


@dataclass
class _Changes:
    """The effect of the operations so far: field values, and the members
    to add and to remove (by id, in order), or with `replacing` the whole
    new list in `adding`."""

    fields: dict[str, str] = field(default_factory=dict)
    adding: dict[str, str] = field(default_factory=dict)
    removing: dict[str, None] = field(default_factory=dict)
    replacing: bool = False

    def add(self, entries: list[dict[str, str]]) -> None:
        for entry in entries:
            self.adding[entry["value"]] = mapping.member_name(entry)
            self.removing.pop(entry["value"], None)

    def remove(self, member_ids: list[str]) -> None:
        for member_id in member_ids:
            self.adding.pop(member_id, None)
            if not self.replacing:
                self.removing[member_id] = None

    def replace(self, entries: list[dict[str, str]]) -> None:
        self.replacing = True
        self.adding.clear()
        self.removing.clear()
        self.add(entries)

    def request(self) -> group_service_pb2.ModifyGroupRequest:
        return group_service_pb2.ModifyGroupRequest(
            group=group_pb2.Group(
                display_name=self.fields.get("display_name", ""),
                external_id=self.fields.get("external_id", ""),
            ),
            update_mask=FieldMask(paths=list(self.fields)),
            add_members=list(self.adding.values()),
            remove_members=[mapping.member_name({"value": i}) for i in self.removing],
            replace_members=self.replacing,
        )


def request(body: dict[str, Any]) -> group_service_pb2.ModifyGroupRequest:
    """The ModifyGroupRequest of a PatchOp body (the group's name and etag
    left for the caller to set); 400 with the RFC's scimType if an operation
    cannot be done."""
    changes = _Changes()
    for operation in _operations(body):
        if operation.path is None:
            _apply_no_path(changes, operation.op, operation.value)
        else:
            _apply(changes, operation.op, operation.path, operation.value)
    return changes.request()


def _operations(body: dict[str, Any]) -> list[PatchOperation[Group]]:
    try:
        parsed = PatchOp[Group].model_validate(
            dialects.patch(patch.limit_operations(body)),
            scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            scim_policy=patch.POLICY,
        )
    except ValidationError as exc:
        raise validation_error(exc) from exc
    except SCIMException as exc:
        raise patch.scim_exception(exc) from exc
    return list(parsed.operations or ())


def _apply_no_path(changes: _Changes, op: Op, value: Any) -> None:
    """RFC 7644 §3.5.2.1, §3.5.2.3: with no path, the value's keys are the
    attributes to add or replace."""
    if not isinstance(value, dict):
        raise invalid_value("an operation without a path takes an object of attributes")
    for key, item in value.items():
        try:
            path = Path[Group](key)
        except SCIMException as exc:
            raise patch.scim_exception(exc) from exc
        _apply(changes, op, path, item, read_only_ignored=True)


def _apply(
    changes: _Changes, op: Op, path: Path[Group], value: Any, *, read_only_ignored: bool = False
) -> None:
    binding = path.resolve()
    if binding is None:
        # An unknown attribute or schema URN (Microsoft's ADSCIM Group):
        # dropped, as in POST and PUT.
        return
    if binding.field_name == "members":
        _apply_to_members(changes, op, path, binding.sub_field_name, value)
    elif binding.field_name in _FIELDS and not binding.sub_field_name:
        changes.fields[binding.field_name] = _field_value(op, path, value)
    elif not read_only_ignored:
        raise ScimError(400, f"{path} cannot be changed", "mutability")


def _field_value(op: Op, path: Path[Group], value: Any) -> str:
    """The new value of displayName or externalId; removing or replacing
    with null clears it (scim2-models refuses that for displayName, which is
    required)."""
    if path.value_filter is not None:
        raise ScimError(400, f"{path}: a filter needs a multi-valued attribute", "invalidPath")
    if op == Op.remove or value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_value(f"{path} is a string")
    return value


def _apply_to_members(
    changes: _Changes, op: Op, path: Path[Group], sub_attribute: str | None, value: Any
) -> None:
    if sub_attribute:
        raise ScimError(400, "a member cannot be changed, only added or removed", "mutability")
    if path.value_filter is not None:
        if op != Op.remove:
            raise ScimError(
                400, f"{op.value} takes the path members, without a filter", "invalidPath"
            )
        changes.remove(_filtered_ids(path.value_filter))
    elif op == Op.add:
        changes.add(_entries(value))
    elif op == Op.replace_:
        changes.replace(_entries(value))
    elif value is None:
        changes.replace([])
    else:
        changes.remove([entry["value"] for entry in _entries(value)])


def _entries(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise invalid_value('members takes a list of {"value": id} objects')
    return [mapping.member_entry(item) for item in value]


def _filtered_ids(node: FilterNode) -> list[str]:
    """The member ids a remove filter names: `value eq "x"`, or several
    joined by `or` (what IdPs send); anything else would need the list."""
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        return [member_id for term in node.terms for member_id in _filtered_ids(term)]
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and node.attr_path.sub_attr is None
        and node.attr_path.uri is None
        and isinstance(node.value, str)
    ):
        return [mapping.member_entry({"value": node.value})["value"]]
    raise ScimError(
        400,
        f'cannot select members by {node}: use members[value eq "id"], joined by or',
        "invalidFilter",
    )
