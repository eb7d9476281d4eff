"""The domain rules over a whole events file: each touched partnership's stored and imported
events checked together (`timeline.check_rules`), and a problem that follows from another rejected
row says which ("volgt uit rij 2"). `EventResource` mixes it in."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import timeline
from ..models import Partnership
from .columns import split_list

# The column a domain rule's problem points at.
RULE_COLUMNS = {
    "not_a_member": "municipalities",
    "municipality_ceased": "date",
    "disentanglement_without_exit": "kind",
}


class EventRulesMixin:
    """The rules over all rows of a file, after each row was read on its own."""

    def check_all(self) -> None:
        """The domain rules over each touched partnership's existing and imported events together."""
        touched = set(self.row_facts) | self.moved_from
        if not touched:
            return
        names = {p.pk: p.name for p in Partnership.objects.filter(pk__in=touched).only("pk", "name")}
        for partnership_id in sorted(touched):
            before = self.before_facts.get(partnership_id, [])
            after = [facts for facts in before if facts.key not in self.changed_pks]
            after += self.row_facts.get(partnership_id, [])
            violations = timeline.check_rules(after, names[partnership_id])
            known = None
            facts_of = {facts.key: facts for facts in self.row_facts.get(partnership_id, [])}
            for violation in violations:
                if violation.event_key in self.row_of:
                    row = self.row_of[violation.event_key]
                    causes = self.caused_by(partnership_id, violation.code, facts_of.get(violation.event_key), row)
                    message = violation.message
                    if causes:
                        rows = ", ".join(str(cause) for cause in causes)
                        message = ngettext(
                            "Follows from row %(rows)s: that row is rejected, and this row needs the signing, "
                            "joining or exit it records. Correct row %(rows)s first.",
                            "Follows from rows %(rows)s: those rows are rejected, and this row needs the signing, "
                            "joining or exit they record. Correct rows %(rows)s first.",
                            len(causes),
                        ) % {"rows": rows}
                    self.problems.append((row, RULE_COLUMNS[violation.code], message))
                    continue
                if known is None:
                    known = {(v.event_key, v.message) for v in timeline.check_rules(before, names[partnership_id])}
                if (violation.event_key, violation.message) not in known:
                    self.problems.append(
                        (
                            None,
                            "",
                            _("%(message)s (An event already recorded, which this file would make invalid.)")
                            % {"message": violation.message},
                        )
                    )

    def rejected(self, row, number: int) -> None:
        partnership = self.lookups.partnerships.get((row.get("partnership") or "").strip())
        if partnership is None:
            return
        kind = self.kinds.code(row.get("kind") or "")
        codes = split_list((row.get("municipalities") or "").upper())
        pks = {self.lookups.municipalities[code].pk for code in codes if code in self.lookups.municipalities}
        self.rejected_rows[partnership.pk].append((number, kind, pks))

    def caused_by(self, partnership_id: int, code: str, facts, row: int) -> list[int]:
        """The rejected rows of this partnership that would have given what a rule found missing:
        a signing or joining (not_a_member), an exit (disentanglement_without_exit)."""
        needed = {
            "not_a_member": timeline.START_KINDS,
            "disentanglement_without_exit": timeline.WITHDRAWAL_KINDS | timeline.TERMINATION_KINDS,
        }.get(code)
        if needed is None or facts is None:
            return []
        wanted = {ref.pk for ref in facts.municipalities}
        return [
            number
            for number, kind, pks in self.rejected_rows.get(partnership_id, [])
            if number != row
            and (kind is None or kind in needed)
            and (pks & wanted or kind in timeline.TERMINATION_KINDS)
        ]

    def facts(self, event, municipality_ids, date, row=None) -> timeline.EventFacts:
        return timeline.EventFacts(
            key=event.pk or ("row", row),
            kind=event.kind,
            status=event.status,
            date=date,
            municipalities=tuple(self.lookups.municipality_ref(pk) for pk in municipality_ids),
            role=event.role,
            created=event.created_at or datetime.datetime.max.replace(tzinfo=datetime.UTC),
        )
