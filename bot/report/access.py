"""Who may read which report: admins and head lawyers the whole union, a lawyer their
own regions. The one place this rule lives."""

from __future__ import annotations

from bot.services.staff import StaffView
from bot.storage.models import StaffRole
from bot.topics import MemberOrgs

READERS = (StaffRole.ADMIN, StaffRole.HEAD_LAWYER, StaffRole.LAWYER)
ALL = "all"  # the whole union, or for a lawyer all of their regions


class ScopeRefused(Exception):
    pass


def sees_whole_union(staff: StaffView) -> bool:
    return staff.role in (StaffRole.ADMIN, StaffRole.HEAD_LAWYER)


def scope_choices(staff: StaffView, orgs: MemberOrgs) -> list[str]:
    """Organisation ids this person may pick one of (ALL first when it means something)."""
    if sees_whole_union(staff):
        return [ALL, *(o.id for o in orgs.orgs)]
    if staff.role != StaffRole.LAWYER:
        return []
    own = [o.id for o in orgs.orgs if o.id in staff.member_orgs]
    return [ALL, *own] if len(own) > 1 else own


def resolve_scope(staff: StaffView, scope: str, orgs: MemberOrgs) -> tuple[str, ...] | None:
    """The organisations a report covers (None: the whole union), or ScopeRefused."""
    if scope not in scope_choices(staff, orgs):
        raise ScopeRefused(scope)
    if scope != ALL:
        return (scope,)
    if sees_whole_union(staff):
        return None
    return tuple(o.id for o in orgs.orgs if o.id in staff.member_orgs)
