"""Search as people type it, the same on SQLite (`make run`) and PostgreSQL: one module that
builds the searchable text, stems it and filters a queryset by a query.

A **search document** is stored text (`document()`): every word of the sources, lowercased,
accents removed (Fryslân → fryslan), split at everything that is not a letter or digit
(Sittard-Geleen → sittard geleen), each followed by its Dutch Snowball stem when that differs
(inkopen → inkopen inkop). The document starts and ends with a space, so that " word" marks the
start of a word in it on every database.

A **query** (`terms()`) is read the same way. Each of its words must be found (AND), as

- the start of a word of the document (prefix: "samenw" finds "samenwerking", "inkoop" finds
  "inkoopsamenwerking"), or
- a stem equal to the word's stem ("inkoop" finds "inkopen", "aanbestedingen" finds
  "aanbesteden", "gemeente" finds "gemeenten").

Common Dutch and English words ("de", "van", "the") are left out of a query of several words;
a query of such words only is searched as typed. A query with no letter or digit finds nothing.

The stems are PostgreSQL's own Dutch stems (Snowball's Dutch algorithm, as in its 'dutch'
configuration), computed in Python (`snowballstemmer`) on both databases, so a query finds the
same partnerships under `make run` as in production.
PostgreSQL reads an indexed vector of the document: a generated column
`to_tsvector('simple', <text column>)` with a GIN index (migration 0019), queried with
`to_tsquery('simple', 'word:* | stem')` (prefix `:*`); the 'simple' configuration only lowercases
and splits, because the document is stemmed already. SQLite reads the document with LIKE.
`matches()` is the same test in Python, for short lists filtered in memory (the municipality
index). Another register reuses all of it with its own text column: `document()` to write it,
`filter_queryset()` to read it, and on PostgreSQL a generated vector column and GIN index like
those of migration 0019.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

import snowballstemmer
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connections
from django.db.models import Q
from django.db.models.expressions import Expression

# Snowball's original Dutch algorithm: the one of PostgreSQL's 'dutch' text search configuration
# (the same stems, checked on the words of the seed articles and municipality names). The newer
# "dutch" of snowballstemmer 3 also strips "ge-" (geleen -> leen, found by "Leens").
STEMMER = "dutch_porter"
# At most this many words of a query are searched: nobody types more, and it bounds the SQL.
MAX_TERMS = 12
# Longer "words" (a pasted hash or URL) are cut: PostgreSQL indexes no word over 2 KB.
MAX_WORD_LENGTH = 60

# Left out of a query of several words. The Dutch are PostgreSQL's and Snowball's Dutch stop
# words; the English the few that English page visitors type between names.
STOP_WORDS_TEXT = """
    de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om hem
    dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar haar naar heb
    hoe heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden toch al waren veel meer
    doen toen moet ben zonder kan hun dus alles onder ja eens hier wie werd altijd doch wordt wezen
    kunnen ons zelf tegen na reeds wil kon niets uw iemand geweest andere
    a an and at by for from of on or the to with
"""
STOP_WORDS = frozenset(STOP_WORDS_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+")
_local = threading.local()


class Term(NamedTuple):
    """One word of a query: found as the start of a word, or as a word with the same stem."""

    word: str
    stem: str


def words(text: str) -> list[str]:
    """The words of `text`: lowercased, accents removed, split at all but letters and digits."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return [word[:MAX_WORD_LENGTH] for word in _WORD.findall(folded)]


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Dutch Snowball stem of a word from `words()`; numbers and codes stay as they are."""
    if not word.isalpha():
        return word
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:  # a stemmer keeps state while it works: one per thread
        stemmer = _local.stemmer = snowballstemmer.stemmer(STEMMER)
    return stemmer.stemWord(word)


def document(texts: Iterable[str]) -> str:
    """The search document of these texts (see the module's docstring); "" when they have no word."""
    tokens = []
    for text in texts:
        for word in words(text or ""):
            tokens.append(word)
            stemmed = stem(word)
            if stemmed != word:
                tokens.append(stemmed)
    return f" {' '.join(tokens)} " if tokens else ""


def joined(documents: Iterable[str]) -> str:
    """One search document of several: `joined([document(a), document(b)]) == document(a + b)`."""
    body = " ".join(stripped for stripped in (doc.strip() for doc in documents) if stripped)
    return f" {body} " if body else ""


@functools.lru_cache(maxsize=4096)
def text_document(text: str) -> str:
    """The search document of one short text (a name), kept for the next request."""
    return document([text])


def terms(query: str) -> list[Term]:
    """The words a query searches for, with their stems; stop words are left out of a query that
    has other words."""
    found = list(dict.fromkeys(words(query)))
    kept = [word for word in found if word not in STOP_WORDS] or found
    return [Term(word, stem(word)) for word in kept[:MAX_TERMS]]


def _term_found(term: Term, doc: str) -> bool:
    return f" {term.word}" in doc or f" {term.stem} " in doc


def matches(doc: str, query_terms: list[Term]) -> bool:
    """Whether a search document is found by a query's `terms()`: the test `filter_queryset()`
    makes in SQL, in Python."""
    return bool(query_terms) and all(_term_found(term, doc) for term in query_terms)


def tsquery(query_terms: list[Term]) -> str:
    """The `to_tsquery('simple', …)` text of these terms: each word as a prefix, or its stem.
    Words are letters and digits only, so nothing in it needs quoting."""
    parts = []
    for term in query_terms:
        parts.append(f"{term.word}:*" if term.stem == term.word else f"({term.word}:* | {term.stem})")
    return " & ".join(parts)


class StoredVector(Expression):
    """A generated vector column of the queryset's own table, by name, qualified with the table's
    alias (unlike RawSQL), so it is not ambiguous when a join reaches another table with a column
    of that name (agreements join their partnership, both have `search_vector`)."""

    output_field = SearchVectorField()

    def __init__(self, column: str):
        super().__init__()
        self.column = column

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name(self.column)}", []


def filter_queryset(queryset, query: str, *, field: str, vector: str | None = None):
    """`queryset` narrowed to the rows whose search document (the text column `field`) is found
    by `query`; unchanged when the query is blank, empty when it has no word.

    On PostgreSQL, with `vector` (the name of the generated, GIN-indexed column
    `to_tsvector('simple', field)`, as in migration 0019) the rows are found through its index
    and annotated with `search_rank` (`ts_rank`) for ordering by relevance. Without `vector`, and
    on SQLite, one LIKE per word on the document: correct, but a scan of the table.
    """
    if not query.strip():
        return queryset
    query_terms = terms(query)
    if not query_terms:
        return queryset.none()
    if vector and connections[queryset.db].vendor == "postgresql":
        column = StoredVector(vector)  # the name of a column of ours (a constant of the caller)
        search_query = SearchQuery(tsquery(query_terms), config="simple", search_type="raw")
        return (
            queryset.alias(search_document=column)
            .annotate(search_rank=SearchRank(column, search_query))
            .filter(search_document=search_query)
        )
    condition = Q()
    for term in query_terms:
        found = Q(**{f"{field}__contains": f" {term.word}"})
        if term.stem != term.word:
            found |= Q(**{f"{field}__contains": f" {term.stem} "})
        condition &= found
    return queryset.filter(condition)
