"""The words an import accepts for a coded column, and the labels an export can write.

One place for the vocabulary of every coded column: the model's choices give the
code and its label, in Dutch and in English (the translations in locale/), and a
small table adds the variants people write that are neither (``VARIANTS``). Words
are matched without regard to case, accents, spacing, ``_`` or ``-``; a label's
part in brackets may be left out ("executive (college van B&W)" is also
"executive" and "college van B&W"). A word that would mean two codes of one
column is accepted for neither. docs/import-formats.md lists the rules.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils import translation
from django.utils.translation import gettext as _

from ..models import Agreement, Event, Partnership, Pillar, Province, Source, Visibility

# Column -> the choices of its codes. pillar/pillars look up Pillar rows, whose codes are Pillar.Code.
CHOICES = {
    "kind": Event.Kind,
    "status": Event.Status,
    "decided_by": Event.DecidedBy,
    "role": Event.Role,
    "visibility": Visibility,
    "legal_form": Partnership.LegalForm,
    "pillar": Pillar.Code,
    "pillars": Pillar.Code,
    "source_kind": Source.Kind,
    "province": Province,
    "agreement_kind": Agreement.Kind,
}
# A column whose words depend on the file's kind: the agreements' `kind` is an agreement's kind.
KIND_COLUMNS = {("agreements", "kind"): "agreement_kind"}


def vocabulary_column(kind: str, column: str) -> str:
    """The vocabulary of `column` in a file of `kind` (see KIND_COLUMNS)."""
    return KIND_COLUMNS.get((kind, column), column)


# What people write that is neither a code nor a label (Dutch and English); kept small.
VARIANTS = {
    "decided_by": {
        "council": ("raad", "de raad", "gemeenteraden", "raden", "council"),
        "executive": (
            "B&W",
            "college",
            "het college",
            "college B&W",
            "colleges van B&W",
            "college van burgemeester en wethouders",
            "burgemeester en wethouders",
            "mayor and aldermen",
        ),
        "town_clerks": ("gemeentesecretaris", "gemeentesecretarissen", "directie", "town clerk"),
        "partnership_board": ("bestuur", "algemeen bestuur", "dagelijks bestuur", "board"),
        "mayor": ("burgemeesters",),
        "aldermen": ("wethouder", "alderman"),
    },
    "status": {"happened": ("gebeurd", "vastgesteld", "done"), "abandoned": ("afgezien", "cancelled", "canceled")},
    "visibility": {"internal": ("niet openbaar", "intern gebruik"), "public": ("openbaar", "publiek")},
    # Event kinds as the nouns a spreadsheet uses ("Evaluatie" in a column "Soort").
    "kind": {
        "signed": ("getekend", "ondertekening"),
        "joined": ("toetreding", "toegetreden"),
        "intent_declared": ("intentieverklaring",),
        "evaluated": ("evaluatie", "evaluation"),
        "amended": ("wijziging", "aanpassing", "amendment"),
        "renewed": ("verlenging", "renewal"),
        "tender_launched": ("aanbesteding", "tender"),
        "contract_awarded": ("gunning", "award"),
        "study_commissioned": ("onderzoek", "study"),
        "withdrawn": ("uittreding", "withdrawal"),
        "terminated": ("beëindiging", "termination"),
        "disentangled": ("ontvlechting afgerond",),
        "dissolved": ("opheffing", "dissolution"),
    },
    "legal_form": {
        "covenant": ("convenant", "samenwerkingsovereenkomst"),
        "wgr_public_body": ("openbaar lichaam", "GR openbaar lichaam"),
        "wgr_joint_body": ("gemeenschappelijk orgaan",),
        "wgr_business_unit": ("bedrijfsvoeringsorganisatie", "BVO"),
        "wgr_regulation_only": ("centrumgemeente", "regeling zonder meer", "lichte regeling"),
    },
}

LANGUAGES = ("nl", "en")
_SPACES = re.compile(r"\s+")
_BRACKETS = re.compile(r"\s*\(([^)]*)\)\s*")


def normalise(value: str) -> str:
    """A word as it is matched: lower case, no accents, "_" and "-" as spaces, one space, "B & W" as "b&w"."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    text = _SPACES.sub(" ", text.lower().replace("_", " ").replace("-", " ")).strip(" .")
    return text.replace(" & ", "&")


class Vocabulary:
    """The codes of one coded column and every word that stands for one of them."""

    def __init__(self, column: str, extra: dict[str, tuple[str, ...]] | None = None):
        self.column = column
        self.choices = CHOICES[column]
        self.codes = [code for code, _label in self.choices.choices]
        words: dict[str, set[str]] = {}

        def add(word: str, code: str) -> None:
            key = normalise(word)
            if key:
                words.setdefault(key, set()).add(code)

        for code, label in self.choices.choices:
            for language in LANGUAGES:
                with translation.override(language):
                    text = str(label)
                add(text, code)
                outside = _BRACKETS.sub(" ", text).strip()
                if outside != text:
                    add(outside, code)
                    for inside in _BRACKETS.findall(text):
                        add(inside, code)
        for source in (VARIANTS.get(column, {}), extra or {}):
            for code, variants in source.items():
                for word in variants:
                    add(word, code)
        # Codes always mean themselves; any other word only when it means one code of this column.
        self.words = {key: next(iter(codes)) for key, codes in words.items() if len(codes) == 1}
        self.words.update({normalise(code): code for code in self.codes})
        self._exact: dict[str, str | None] = {}  # the values seen, as written: a file repeats them

    def code(self, value: str) -> str | None:
        """The code `value` stands for, or None."""
        if value not in self._exact:
            if len(self._exact) > 10000:
                self._exact.clear()
            self._exact[value] = self.words.get(normalise(value))
        return self._exact[value]

    def label(self, code: str) -> str:
        """The code's label in the active language (the code itself when it has none)."""
        return str(dict(self.choices.choices).get(code, code))

    def described(self) -> str:
        """Every code with its label, for a message: "council (gemeenteraad), executive (college van B&W), …"."""
        return ", ".join(code if self.label(code) == code else f"{code} ({self.label(code)})" for code in self.codes)

    def unknown(self, value: str) -> ValueError:
        return ValueError(
            _("Unknown value “%(value)s”; use a code or its label: %(codes)s.")
            % {"value": value, "codes": self.described()}
        )


_VOCABULARIES: dict[tuple[str, str], Vocabulary] = {}


def vocabulary(column: str) -> Vocabulary:
    """The column's vocabulary, built once per process and language (labels are translated)."""
    key = (column, translation.get_language() or "")
    if key not in _VOCABULARIES:
        _VOCABULARIES[key] = Vocabulary(column)
    return _VOCABULARIES[key]


def labelled(column: str, value: str) -> str:
    """An exported cell of a coded column with labels instead of codes (lists by ";", sources by line)."""
    if column not in CHOICES or not value:
        return value
    words = vocabulary(column)
    if column == "source_kind":
        return "\n".join(words.label(line) if line else line for line in value.split("\n"))
    if column == "pillars":
        return ";".join(words.label(code) for code in value.split(";"))
    return words.label(value)
