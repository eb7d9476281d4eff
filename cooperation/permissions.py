"""Who may do what: the one place for object-level checks.

Used by the public views, the admin, the imports and the API alike.

Roles are Django groups (created by migration 0004):
- anonymous visitors: public partnerships and public events only;
- viewer (any active account): also internal events, notes and costs; may follow and export;
- editor: a viewer who edits the partnerships in which one of their municipalities takes part;
- administrator (group or superuser): everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import EditorProfile, Partnership

VIEWER, EDITOR, ADMINISTRATOR = "viewer", "editor", "administrator"


def _groups(user) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def is_administrator(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser) or (
        ADMINISTRATOR in _groups(user)
    )


def can_view_internal(user) -> bool:
    """Every active account is at least a viewer."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def editor_municipality_ids(user) -> set[int]:
    if not can_view_internal(user):
        return set()
    cached = getattr(user, "_editor_municipality_ids", None)
    if cached is None:
        cached = set(
            EditorProfile.municipalities.through.objects.filter(editorprofile__user=user).values_list(
                "municipality_id", flat=True
            )
        )
        user._editor_municipality_ids = cached
    return cached


def is_editor(user) -> bool:
    return EDITOR in _groups(user) and bool(editor_municipality_ids(user))


def editable_partnerships(user, queryset: QuerySet | None = None) -> QuerySet:
    """Partnerships this user may change: all for administrators; for editors those in which
    one of their municipalities takes part (as member or in any event)."""
    queryset = Partnership.objects.all() if queryset is None else queryset
    if is_administrator(user):
        return queryset
    if not is_editor(user):
        return queryset.none()
    ids = editor_municipality_ids(user)
    return queryset.filter(Q(memberships__municipality__in=ids) | Q(events__municipalities__in=ids)).distinct()


def can_edit_partnership(user, partnership) -> bool:
    return can_edit_partnership_id(user, None if partnership is None else partnership.pk)


def can_edit_partnership_id(user, partnership_id: int | None) -> bool:
    """The check behind every admin view of a partnership and what hangs under it (agreements,
    events): change, history list, history revert, delete. None is a partnership yet to be made."""
    if is_administrator(user):
        return True
    if partnership_id is None:
        return is_editor(user)
    return editable_partnerships(user).filter(pk=partnership_id).exists()


def _cited_only_within_scope(user, events: QuerySet) -> bool:
    if is_administrator(user):
        return True
    if not is_editor(user):
        return False
    return not events.exclude(partnership__in=editable_partnerships(user).values("pk")).exists()


def can_change_source(user, source) -> bool:
    """A source is shared by every event that cites it: an editor may change it only when every
    one of those events lies in a partnership they may edit (a new source always). Otherwise the
    change is refused; the editor adds a new source for their own events instead. Imports follow
    the same rule: an import that would change an existing source asks this first."""
    if source is None or source.pk is None:
        return is_administrator(user) or is_editor(user)
    return _cited_only_within_scope(user, source.events.all())


def can_change_person(user, person) -> bool:
    """People are shared like sources: an editor changes one only when every event they took part
    in lies in a partnership the editor may edit."""
    if person is None or person.pk is None:
        return is_administrator(user) or is_editor(user)
    event_model = person.participations.model.event.field.related_model
    return _cited_only_within_scope(user, event_model.objects.filter(participants__person=person))


def can_import(user) -> bool:
    return is_administrator(user) or is_editor(user)


def can_export(user) -> bool:
    return can_view_internal(user)


def can_manage_users(user) -> bool:
    return is_administrator(user)


def can_use_admin(user) -> bool:
    """Staff: the accounts that reach the admin (its helpers, such as the date reading, too)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)
