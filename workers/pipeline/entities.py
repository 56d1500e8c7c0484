"""Named entities of a cleaned text: mentions with offsets, grouped into distinct entities.

Mentions are grouped by name (a part of a person's name joins the full name; an acronym joins
the organisation whose initials it spells), and each entity gets one label: the majority of its
mentions' labels, corrected by what the whole document shows:

* a name shaped like an organisation (its words include "Party", "Ministry", "Brigades",
  "Forces", "Hezbollah"… ``ORGANISATION_WORDS``) is never a person;
* a name the document places inside a place ("a base in Iraq’s Erbil") or that is read as a
  place elsewhere in it is a place, not an organisation.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from spacy.language import Language

from contracts.results import EntitiesResult, Entity, Mention
from workers.pipeline.sentences import TextSpan, doc_sentences, paragraph_docs

# Labels naming a thing that can be referred to by part of its name ("Austin" for "Lloyd Austin").
NAME_LABELS = frozenset(
    {
        "PERSON",
        "ORG",
        "GPE",
        "LOC",
        "NORP",
        "FAC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
    }
)
# Values rather than names: grouped only when written the same way, and less salient.
VALUE_LABELS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "NORP"})
# Places proper (a nationality, NORP, is not a place an organisation could be taken for).
_PLACES = frozenset({"GPE", "LOC", "FAC"})
# Words that make a name an organisation's, whatever the model read.
ORGANISATION_WORDS = frozenset(
    """agency alliance army association authority bank brigade brigades bureau cabinet
    coalition college commission committee company corp corporation corps council court
    department division federation forces foundation front group guard hezbollah hamas
    institute league limited ltd inc llc militia ministry movement navy office organisation
    organization parliament party police regiment school senate taliban tribunal union
    university""".split()
)
_LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?$")
_WORD = re.compile(r"\w+", re.UNICODE)


def find_mentions(nlp: Language, text: str) -> list[Mention]:
    """Every entity mention spaCy's NER finds, paragraph by paragraph, with offsets into ``text``."""
    return read_text(nlp, text, entities=True).mentions


@dataclass(frozen=True)
class TextReading:
    """What one model pass over a text found: its sentences and entity mentions."""

    sentences: list[TextSpan]
    mentions: list[Mention]


def read_text(nlp: Language, text: str, *, entities: bool) -> TextReading:
    """Sentences (``senter``) and, when asked, entity mentions (``ner``) of ``text`` in one pass
    over its paragraphs, with offsets into ``text``."""
    components = ("senter", "ner") if entities else ("senter",)
    sentences: list[TextSpan] = []
    mentions: list[Mention] = []
    for offset, doc in paragraph_docs(nlp, text, components=components):
        sentences.extend(doc_sentences(text, offset, doc))
        for ent in doc.ents:
            start, end = offset + ent.start_char, offset + ent.end_char
            mentions.append(Mention(text=text[start:end], label=ent.label_, start=start, end=end))
    return TextReading(sentences=sentences, mentions=mentions)


def extract_entities(nlp: Language, text: str, *, title: str | None = None) -> EntitiesResult:
    """Mentions in text order and distinct entities sorted by salience (one label each)."""
    mentions = find_mentions(nlp, text)
    return group_mentions(mentions, text_length=len(text), title=title, text=text)


@dataclass
class _Group:
    key: tuple[str, ...]
    indices: list[int] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)
    forms: Counter[str] = field(default_factory=Counter)

    def add(self, index: int, mention: Mention, form: str) -> None:
        self.indices.append(index)
        self.labels[mention.label] += 1
        self.forms[form] += 1

    def absorb(self, other: _Group) -> None:
        self.indices.extend(other.indices)
        self.labels.update(other.labels)
        self.forms.update(other.forms)

    @property
    def label(self) -> str:
        """The label most mentions carry; a tie goes to a name label over a value label."""
        return max(self.labels, key=lambda label: (self.labels[label], label in NAME_LABELS))


def group_mentions(
    mentions: list[Mention],
    *,
    text_length: int,
    title: str | None = None,
    text: str | None = None,
    corrections: bool = True,
) -> EntitiesResult:
    """Group mentions into entities (same name, a part of a longer person's name, an acronym)
    with one corrected label each; ``text`` (the mentions' text) lets its context count.
    ``corrections=False`` keeps the majority vote alone (and no acronym merging)."""
    groups: dict[tuple[str, ...], _Group] = {}
    for index, mention in enumerate(mentions):
        form = surface_form(mention.text)
        key = name_key(form)
        if not key:
            continue
        if mention.label in VALUE_LABELS:
            key = ("#value", mention.label, *key)
        groups.setdefault(key, _Group(key)).add(index, mention, form)
    _merge_partial_names(groups)
    if corrections:
        _merge_acronyms(groups)
    placed = _placed_names(groups, text) if text is not None and corrections else set()
    entities = [
        _entity(group, mentions, text_length, title, placed, corrections)
        for group in groups.values()
    ]
    entities.sort(key=lambda e: (-e.salience, e.first_start))
    relabelled = _relabel(mentions, entities)
    return EntitiesResult(mentions=relabelled, entities=entities)


def surface_form(text: str) -> str:
    """A mention without a leading article or trailing possessive: "the US's" -> "US"."""
    form = _LEADING_ARTICLE.sub("", text.strip())
    return _POSSESSIVE.sub("", form).strip()


def name_key(form: str) -> tuple[str, ...]:
    """Case-folded words of a name, the grouping key."""
    return tuple(word.casefold() for word in _WORD.findall(form))


def _merge_partial_names(groups: dict[tuple[str, ...], _Group]) -> None:
    """Join a part of a longer person's name to it: "Austin" to "Lloyd Austin".

    The part joins when it was read as a person at least once, or when it is the person's
    surname and was read as a place (the small model often takes surnames for places). A part
    read only as an organisation stays apart: "Hezbollah" is not "Kataib Hezbollah".
    """
    people = [g for g in groups.values() if len(g.key) > 1 and g.label == "PERSON"]
    for key, group in list(groups.items()):
        if key[0] == "#value":
            continue
        containing = [p for p in people if p is not group and _contains(p.key, key)]
        if len(containing) != 1:
            continue
        person = containing[0]
        as_place = bool(set(group.labels) & _PLACE_LABELS) and person.key[-len(key) :] == key
        if group.labels["PERSON"] > 0 or as_place:
            person.absorb(group)
            del groups[key]


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    if len(shorter) >= len(longer):
        return False
    return any(
        longer[i : i + len(shorter)] == shorter for i in range(len(longer) - len(shorter) + 1)
    )


def _merge_acronyms(groups: dict[tuple[str, ...], _Group]) -> None:
    """Join an acronym ("IRGC") to the one organisation whose capitalised words spell it."""
    spelled: dict[str, list[_Group]] = {}
    for group in groups.values():
        if group.key[0] != "#value" and len(group.key) > 1 and group.label in ("ORG", "FAC"):
            spelled.setdefault(_initials(max(group.forms, key=len)), []).append(group)
    for key, group in list(groups.items()):
        form = max(group.forms, key=len)
        if len(key) != 1 or not form.isupper() or len(form) < 2:
            continue
        longer = [g for g in spelled.get(form, []) if g is not group]
        if len(longer) == 1:
            longer[0].absorb(group)
            del groups[key]


def _initials(name: str) -> str:
    """The initials of a name's capitalised words (a word in capitals counts whole)."""
    return "".join(w if w.isupper() else w[0] for w in name.split() if w[:1].isupper())


def _placed_names(groups: dict[tuple[str, ...], _Group], text: str) -> set[tuple[str, ...]]:
    """Keys of names the text puts inside a place it names, after a preposition of place: "a
    base in Iraq’s Erbil" (Iraq read as a place somewhere in the document) places Erbil, where
    "China’s Huawei said" places nothing."""
    places = sorted(
        {form for g in groups.values() if g.label in _PLACES for form in g.forms if form},
        key=len,
        reverse=True,
    )
    if not places:
        return set()
    pattern = re.compile(
        r"\b(?:in|at|near|from|to|outside|inside|around)\s+(?:the\s+)?(?:"
        + "|".join(re.escape(p) for p in places)
        + r")['’]s?\s+(\w[\w'’-]*(?:\s+[A-Z][\w'’-]*)*)"
    )
    return {name_key(match.group(1)) for match in pattern.finditer(text)}


def _corrected_label(group: _Group, placed: set[tuple[str, ...]]) -> str:
    """The voted label, corrected by the name's shape and what the document says of it."""
    label = group.label
    words = {word for form in group.forms for word in name_key(form)}
    if label == "PERSON" and words & ORGANISATION_WORDS:
        return "ORG"
    if label == "ORG" and not words & ORGANISATION_WORDS:
        places = [lab for lab in group.labels if lab in _PLACES]
        if places:
            return max(places, key=lambda lab: group.labels[lab])
        if group.key in placed:
            return "GPE"
    return label


def _entity(
    group: _Group,
    mentions: list[Mention],
    text_length: int,
    title: str | None,
    placed: set[tuple[str, ...]],
    corrections: bool,
) -> Entity:
    indices = sorted(group.indices)
    first_start = mentions[indices[0]].start
    name = max(group.forms, key=lambda form: (len(name_key(form)), len(form), group.forms[form]))
    label = _corrected_label(group, placed) if corrections else group.label
    return Entity(
        name=name,
        label=label,
        count=len(indices),
        first_start=first_start,
        salience=0.0,
        mentions=indices,
    ).model_copy(
        update={
            "salience": salience(
                count=len(indices),
                first_start=first_start,
                text_length=text_length,
                in_title=_in_title(group.key, title),
                is_value=label in VALUE_LABELS,
            )
        }
    )


def salience(
    *, count: int, first_start: int, text_length: int, in_title: bool, is_value: bool
) -> float:
    """How central an entity is, in [0, 1]: frequency, early first mention, presence in the title."""
    frequency = 1.0 - 1.0 / (1.0 + 0.5 * count)  # 1 -> 0.33, 2 -> 0.5, 6 -> 0.75
    position = 1.0 - first_start / max(text_length, 1)
    score = 0.55 * frequency + 0.25 * position + 0.2 * float(in_title)
    if is_value:
        score *= 0.5
    return round(min(max(score, 0.0), 1.0), 4)


def _in_title(key: tuple[str, ...], title: str | None) -> bool:
    if not title or not key or key[0] == "#value":
        return False
    return _contains((*name_key(title), "\0"), key)


def _relabel(mentions: list[Mention], entities: list[Entity]) -> list[Mention]:
    """Give every mention its entity's voted label, so one entity has one label."""
    label_of = {index: entity.label for entity in entities for index in entity.mentions}
    return [
        m if label_of.get(i, m.label) == m.label else m.model_copy(update={"label": label_of[i]})
        for i, m in enumerate(mentions)
    ]
