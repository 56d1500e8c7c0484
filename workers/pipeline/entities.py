"""Named entities of a cleaned text: mentions with offsets, grouped into distinct entities."""

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
    return group_mentions(mentions, text_length=len(text), title=title)


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
    mentions: list[Mention], *, text_length: int, title: str | None = None
) -> EntitiesResult:
    """Group mentions into entities: same name, or a part of a longer person's name."""
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
    entities = [_entity(group, mentions, text_length, title) for group in groups.values()]
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


def _entity(group: _Group, mentions: list[Mention], text_length: int, title: str | None) -> Entity:
    indices = sorted(group.indices)
    first_start = mentions[indices[0]].start
    name = max(group.forms, key=lambda form: (len(name_key(form)), len(form), group.forms[form]))
    label = group.label
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
