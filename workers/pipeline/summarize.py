"""Extractive summary: the most central sentences of a document, in document order.

A pure function over the text and its sentence spans (from ``split_sentences``); no model is
loaded. Sentences become TF-IDF vectors (IDF over the document's own sentences) and each gets
a score from a few general signals, each scaled to [0, 1]:

* lead prior: news is written top-down, so the first ``LEAD_SENTENCES`` get full weight and
  later ones less. The prior is *gated* by how on-topic a sentence is (its similarity to the
  rest of the document): an anecdotal or scene-setting opening that shares little with the
  body gets little of it, so the central facts further down can win;
* centrality: similarity to the document as a whole;
* forward similarity (PacSum-style directed centrality): a sentence whose words the
  following sentences take up introduces the story;
* restatement: a sentence that closely repeats an earlier one (a photo caption restating
  the lead, say) adds little, so similarity to earlier sentences above
  ``RESTATEMENT_SIMILARITY`` is subtracted;
* shape: fragments, bylines, timestamps and page furniture ("Scroll down for video") are
  never chosen, and very short or very long sentences are discounted;
* title (when given): similarity to the title.

These signals, with the sentence's position among the well-shaped sentences and its length, are
the features of a small logistic sentence scorer (``TRAINED_SCORER``) fitted to oracle
extracts of news articles (``python -m evaluation.summary_model``). Its scores are then used
*lead-anchored*: the first well-shaped sentences are taken, and one is replaced by a later
sentence only when that scores ``SWAP_MARGIN`` higher (news puts the facts first; the
margin and the scorer were chosen by cross-validation, see README). With ``scorer=None`` the
signals are combined by the fixed hand-set weights below instead; with ``swap_margin=None``
sentences are taken greedily by score alone. Near-duplicates of a chosen sentence are skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from contracts.results import SummaryResult, SummarySentence
from workers.pipeline.sentences import TextSpan

Vector = NDArray[np.float64]

LEAD_SENTENCES = 4
# Ranking builds dense sentence-by-word and sentence-by-sentence matrices; past this many
# sentences (far beyond a news article) only the first ones are ranked, so memory stays bounded.
MAX_RANKED_SENTENCES = 600
# After the lead, the prior falls as 1 / (1 + k / LEAD_DECAY) for the k-th sentence past it.
LEAD_DECAY = 2.0
# A sentence at least this similar to the rest (relative to the most similar) gets the full
# lead prior; less on-topic sentences get a proportional share.
ON_TOPIC_SIMILARITY = 0.4
# Weights of the hand-set combination (``HAND_SET``, the ranker used before the trained scorer);
# the title's weight also applies beside the trained scorer.
CENTRALITY_WEIGHT = 0.25
FORWARD_WEIGHT = 0.5
RESTATEMENT_WEIGHT = 1.0
RESTATEMENT_SIMILARITY = 0.3
TITLE_WEIGHT = 0.5
FEATURES = (
    "lead",
    "on_topic",
    "centrality",
    "forward",
    "restatement",
    "title",
    "shape",
    "first_good",
    "good_position",
    "log_words",
    "relative_position",
)
# Fewer content words than this is a fragment; outside the good range a sentence is discounted.
MIN_WORDS = 5
SHORTEST_GOOD_WORDS = 8
LONGEST_GOOD_WORDS = 40
# Lead-anchored choice: the first sentences are kept unless a later one scores this much higher
# than the weakest of them (chosen by cross-validation in ``make eval``); infinity keeps the
# lead, ``RANK_ONLY`` ranks all sentences by score alone.
SWAP_MARGIN = 0.2
RANK_ONLY = -math.inf
# A candidate sharing this share of its distinct words with a chosen sentence is a repeat.
MAX_OVERLAP = 0.6

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_POSSESSIVE = re.compile(r"['’]s$")
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own said same says she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves""".split()
)
# Shapes of text that is page furniture rather than a sentence of the story.
_JUNK_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^\W*by\b[\s.]",  # byline: "By . Staff Reporter ."
        r"\b(?:published|updated|last modified)\s*:",  # timestamp line
        r"\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?|gmt|bst|est|edt|utc)\b",  # clock time
        r"\b(?:scroll down|click here|read more|sign up|follow us)\b",  # web furniture
        r"^\W*(?:photo|image|picture|video)s?\s*(?:credit)?\s*:",  # credits
    )
)


def summarize(
    *,
    text: str,
    sentences: Sequence[TextSpan],
    count: int = 3,
    title: str | None = None,
    scorer: SentenceScorer | None = None,
    swap_margin: float | None = None,
) -> SummaryResult:
    """The ``count`` most central sentences of ``text``, in document order.

    ``sentences`` are the spans of ``split_sentences``; each chosen sentence is used whole.
    Only the first ``MAX_RANKED_SENTENCES`` are ranked. ``scorer`` and ``swap_margin`` default to
    the trained scorer and the cross-validated margin (see the module docstring).
    Scores are in [0, 1], higher is more central.
    """
    if count <= 0 or not text.strip() or not sentences:
        return SummaryResult()
    sentences = sentences[:MAX_RANKED_SENTENCES]
    features, words = sentence_features(text, sentences, title)
    chosen, scores = pick_sentences(
        features, words, count=count, scorer=scorer, swap_margin=swap_margin
    )
    picked = [
        SummarySentence(
            text=text[sentences[index].start : sentences[index].end],
            start=sentences[index].start,
            end=sentences[index].end,
            score=round(float(scores[index]), 4),
        )
        for index in sorted(chosen)
    ]
    return SummaryResult(sentences=picked, text=" ".join(item.text for item in picked))


def pick_sentences(
    features: Vector,
    words: list[list[str]],
    *,
    count: int,
    scorer: SentenceScorer | None = None,
    swap_margin: float | None = None,
) -> tuple[list[int], Vector]:
    """Indices of the chosen sentences (in choice order) and every sentence's score."""
    scores = sentence_scores(features, scorer or TRAINED_SCORER)
    shapes = features[:, FEATURES.index("shape")]
    margin = SWAP_MARGIN if swap_margin is None else swap_margin
    return _choose(scores, shapes, words, count, margin), scores


@dataclass(frozen=True)
class SentenceScorer:
    """A logistic scorer over ``FEATURES`` (standardised by ``means`` and ``scales``); with no
    weights, the hand-set combination of the signals."""

    weights: tuple[float, ...] = ()
    bias: float = 0.0
    means: tuple[float, ...] = ()
    scales: tuple[float, ...] = ()


HAND_SET = SentenceScorer()
# Fitted by ``python -m evaluation.summary_model`` on the 119 development articles (no titles
# there, hence the title's zero weight; a title adds ``TITLE_WEIGHT`` × its similarity instead).
TRAINED_SCORER = SentenceScorer(
    weights=(0.5232, 0.0786, 0.3189, 0.0362, 0.0189, 0.0, 0.0979, -0.3861, 0.4527, -0.0301, 0.0171),
    bias=-2.5045,
    means=(0.3725, 0.7767, 0.6401, 0.2903, 0.023, 0.0, 0.8365, 0.047, 0.1787, 2.5481, 0.5),
    scales=(0.3345, 0.3051, 0.1902, 0.2896, 0.0905, 1.0, 0.3315, 0.2116, 0.214, 0.6743, 0.3027),
)


def sentence_scores(features: Vector, scorer: SentenceScorer) -> Vector:
    """Each sentence's score in [0, 1] (the best 1); 0 for fragments and page furniture."""
    column = {name: features[:, i] for i, name in enumerate(FEATURES)}
    if scorer.weights:
        standard = (features - np.array(scorer.means)) / np.array(scorer.scales)
        raw = 1.0 / (1.0 + np.exp(-(standard @ np.array(scorer.weights) + scorer.bias)))
        raw = _normalised(raw) + TITLE_WEIGHT * column["title"]
    else:
        raw = np.maximum(
            column["lead"] * column["on_topic"]
            + CENTRALITY_WEIGHT * column["centrality"]
            + FORWARD_WEIGHT * column["forward"]
            - RESTATEMENT_WEIGHT * column["restatement"]
            + TITLE_WEIGHT * column["title"],
            0.0,
        )
    return _normalised(raw * column["shape"])


def sentence_features(
    text: str, sentences: Sequence[TextSpan], title: str | None
) -> tuple[Vector, list[list[str]]]:
    """One row of ``FEATURES`` per sentence, and each sentence's content words."""
    words = [content_words(text[span.start : span.end]) for span in sentences]
    shapes = np.array(
        [_shape_factor(text[s.start : s.end], w) for s, w in zip(sentences, words, strict=True)]
    )
    vectors = _tfidf_rows(words)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0.0)
    document = vectors.sum(axis=0)
    count = len(words)
    title_similarity = np.zeros(count)
    if title and title.strip():
        with_title = _tfidf_rows([*words, content_words(title)])
        title_similarity = _normalised(with_title[:-1] @ with_title[-1])
    good = (shapes > 0).astype(np.float64)
    good_before: Vector = np.cumsum(good) - good
    columns: dict[str, Vector] = {
        "lead": _lead_prior(count),
        "on_topic": _on_topic(vectors, document),
        "centrality": _normalised(vectors @ _unit(document)),
        "forward": _normalised(np.triu(similarity, k=1).sum(axis=1)),
        "restatement": _restatement(similarity),
        "title": title_similarity,
        "shape": shapes,
        "first_good": (good_before == 0) * good,
        "good_position": 1.0 / (1.0 + good_before),
        "log_words": np.log1p(np.array([len(w) for w in words], dtype=np.float64)),
        "relative_position": np.arange(count) / max(count - 1, 1),
    }
    return np.column_stack([columns[name] for name in FEATURES]), words


def content_words(sentence: str) -> list[str]:
    """Lower-cased words without stop words, with a light plural/possessive stem."""
    stems = []
    for word in _WORD.findall(sentence.lower()):
        stem = _POSSESSIVE.sub("", word)
        if stem in _STOPWORDS:
            continue
        if len(stem) > 3 and stem.endswith("s") and not stem.endswith("ss"):
            stem = stem[:-1]
        stems.append(stem)
    return stems


def _tfidf_rows(words: list[list[str]]) -> Vector:
    """Unit-length TF-IDF rows, one per sentence; IDF counts the sentences holding a word."""
    vocabulary = {word: i for i, word in enumerate(sorted({w for ws in words for w in ws}))}
    holding = Counter(word for sentence_words in words for word in set(sentence_words))
    matrix = np.zeros((len(words), max(len(vocabulary), 1)))
    for row, sentence_words in enumerate(words):
        for word, frequency in Counter(sentence_words).items():
            idf = math.log((1 + len(words)) / (1 + holding[word])) + 1.0
            matrix[row, vocabulary[word]] = frequency * idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def _lead_prior(length: int) -> Vector:
    """1 for the lead sentences, then decaying with the distance past the lead."""
    past_lead = np.maximum(np.arange(length, dtype=np.float64) - LEAD_SENTENCES + 1, 0.0)
    return 1.0 / (1.0 + past_lead / LEAD_DECAY)


def _on_topic(vectors: Vector, document: Vector) -> Vector:
    """Similarity of each sentence to the rest of the document, as a share up to 1."""
    rest = document[np.newaxis, :] - vectors
    rest_norms = np.linalg.norm(rest, axis=1)
    to_rest = np.einsum("ij,ij->i", vectors, rest) / np.where(rest_norms > 0, rest_norms, 1.0)
    return np.minimum(1.0, _normalised(to_rest) / ON_TOPIC_SIMILARITY)


def _restatement(similarity: Vector) -> Vector:
    """How much each sentence repeats earlier ones: summed similarity above the bar, up to 1."""
    above_bar = np.maximum(similarity - RESTATEMENT_SIMILARITY, 0.0)
    repeated: Vector = np.tril(above_bar, k=-1).sum(axis=1)
    return np.minimum(repeated, 1.0)


def _shape_factor(sentence: str, words: list[str]) -> float:
    """1 for an ordinary sentence, less for odd lengths, 0 for fragments and page furniture."""
    if len(words) < MIN_WORDS or any(pattern.search(sentence) for pattern in _JUNK_PATTERNS):
        return 0.0
    if len(words) < SHORTEST_GOOD_WORDS:
        return len(words) / SHORTEST_GOOD_WORDS
    return min(1.0, LONGEST_GOOD_WORDS / len(words))


def _choose(
    scores: Vector, shapes: Vector, words: list[list[str]], count: int, swap_margin: float
) -> list[int]:
    """Indices of the chosen sentences: the lead with swaps, or the best-scored (``RANK_ONLY``)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    ranked = order if swap_margin == RANK_ONLY else range(len(scores))
    for index in ranked:
        if len(chosen) < count and shapes[index] > 0 and not _repeats(index, chosen, words):
            chosen.append(index)
    if swap_margin != RANK_ONLY:
        _swap_in_stronger(chosen, order, scores, shapes, words, swap_margin)
    fillers = [index for index in order if index not in chosen]
    return chosen + fillers[: max(count - len(chosen), 0)]


def _swap_in_stronger(
    chosen: list[int],
    order: list[int],
    scores: Vector,
    shapes: Vector,
    words: list[list[str]],
    margin: float,
) -> None:
    """Replace the weakest chosen sentence by a better-scored one while it wins by ``margin``."""
    for candidate in order:
        if not chosen or candidate in chosen or shapes[candidate] <= 0:
            continue
        weakest = min(chosen, key=lambda i: (scores[i], -i))
        if scores[candidate] - scores[weakest] <= margin:
            return
        others = [i for i in chosen if i != weakest]
        if not _repeats(candidate, others, words):
            chosen[chosen.index(weakest)] = candidate


def _repeats(candidate: int, chosen: list[int], words: list[list[str]]) -> bool:
    """Whether most of the candidate's distinct words are already in one chosen sentence."""
    distinct = set(words[candidate])
    if not distinct:
        return True
    return any(len(distinct & set(words[other])) / len(distinct) >= MAX_OVERLAP for other in chosen)


def _normalised(values: Vector) -> Vector:
    """``values`` divided by their maximum (all zeros, or an empty array, stay as they are)."""
    peak = float(values.max()) if values.size else 0.0
    return values / peak if peak > 0 else np.zeros_like(values)


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
