"""Extractive summary: the most central sentences of a document, in document order.

A pure function over the text and its sentence spans (from ``split_sentences``); no model is
loaded. Each sentence gets a score from a few general signals:

* centrality: how much of the document's vocabulary a sentence carries (TF-IDF cosine
  similarity to the whole document, with sentences as the "documents" for IDF), plus how
  much the sentences after it repeat its words (PacSum-style forward centrality: news
  sentences that introduce what follows are the ones worth keeping);
* position: a gentle prior for early sentences, as news is mostly written top-down;
* shape: very short fragments, bylines, timestamps, web furniture ("Scroll down for video")
  and run-on photo captions are skipped or penalised; a title, when given, adds similarity.

Sentences are then taken greedily by score, skipping near-duplicates of those chosen.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from contracts.results import SummaryResult, SummarySentence
from workers.pipeline.sentences import TextSpan

# Weights of the signals; each signal is scaled to [0, 1] before weighting.
CENTRALITY_WEIGHT = 1.0
FORWARD_WEIGHT = 0.5
BACKWARD_WEIGHT = 0.0
EXCLUDE_SELF = False
MULTIPLY = False
FLOOR = 0.0
POSITION_WEIGHT = 1.0
TITLE_WEIGHT = 0.5
# Position prior 1 / (1 + index / POSITION_SCALE): halves by sentence POSITION_SCALE.
POSITION_SCALE = 4.0
LEAD_SENTENCES = 1
# Sentence length (content words) outside this range is penalised in proportion.
SHORTEST_GOOD_WORDS = 8
LONGEST_GOOD_WORDS = 40
# Fewer words than this is a fragment, never a summary sentence.
MIN_WORDS = 5
# A candidate sharing this share of its content words with a chosen sentence is a repeat.
MAX_OVERLAP = 0.6

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "said",
        "same",
        "says",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)
# Shapes of text that is page furniture rather than a sentence of the story.
_JUNK_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^\W*by\b[\s.]",  # byline: "By . Daily Mail Reporter ."
        r"\b(?:published|updated|last modified)\s*:",  # timestamp line
        r"\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?\b|gmt|bst|est|edt|utc)",  # clock time
        r"\b(?:scroll down|click here|read more|sign up|follow us)\b",  # web furniture
        r"^\W*(?:photo|image|picture|video)s?\s*(?:credit)?\s*:",  # credits
    )
)


def summarize(
    *, text: str, sentences: Sequence[TextSpan], count: int = 3, title: str | None = None
) -> SummaryResult:
    """The ``count`` most central sentences of ``text``, in document order.

    ``sentences`` are the spans of ``split_sentences``; each chosen sentence is used whole.
    Scores are in [0, 1], higher is more central.
    """
    if count <= 0 or not text.strip() or not sentences:
        return SummaryResult()
    words = [_content_words(text[span.start : span.end]) for span in sentences]
    scores = _sentence_scores(text, sentences, words, title)
    chosen = _choose(scores, words, count)
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


def _content_words(sentence: str) -> list[str]:
    """Lower-cased words without stop words, with a light plural/possessive stem."""
    stems = []
    for word in _WORD.findall(sentence.lower()):
        word = re.sub(r"['’]s$", "", word)
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        stems.append(word)
    return stems


def _sentence_scores(
    text: str, sentences: Sequence[TextSpan], words: list[list[str]], title: str | None
) -> NDArray[np.float64]:
    """Combined score of each sentence, scaled to [0, 1]; junk sentences get 0."""
    vectors = _tfidf_matrix(words)
    document = vectors.sum(axis=0)
    if EXCLUDE_SELF:
        rest = document[None, :] - vectors
        rest_norm = np.linalg.norm(rest, axis=1)
        centrality = _normalised(
            np.einsum("ij,ij->i", vectors, rest) / np.where(rest_norm > 0, rest_norm, 1.0)
        )
    else:
        centrality = _normalised(vectors @ _unit(document))
    forward = _normalised(_forward_centrality(vectors))
    backward = _normalised(_forward_centrality(vectors[::-1])[::-1])
    positions = np.arange(len(sentences), dtype=np.float64)
    position = 1.0 / (1.0 + np.maximum(positions - LEAD_SENTENCES + 1, 0) / POSITION_SCALE)
    if MULTIPLY:
        relevance = np.maximum(
            CENTRALITY_WEIGHT * centrality + FORWARD_WEIGHT * forward - BACKWARD_WEIGHT * backward,
            0.0,
        )
        combined = position * (FLOOR + relevance)
    else:
        combined = (
            CENTRALITY_WEIGHT * centrality
            + FORWARD_WEIGHT * forward
            + POSITION_WEIGHT * position
            - BACKWARD_WEIGHT * backward
        )
        combined = np.maximum(combined, 0.0)
    if title:
        joint = _tfidf_matrix([*words, _content_words(title)])  # one vocabulary for both
        combined += TITLE_WEIGHT * _normalised(joint[:-1] @ joint[-1])
    shape = np.array([_shape_factor(text[s.start : s.end], w) for s, w in zip(sentences, words)])
    return _normalised(combined * shape)


def _tfidf_matrix(words: list[list[str]]) -> NDArray[np.float64]:
    """Unit-length TF-IDF rows, one per sentence; IDF counts sentences holding a word."""
    vocabulary = {word: i for i, word in enumerate(sorted({w for ws in words for w in ws}))}
    matrix = np.zeros((len(words), max(len(vocabulary), 1)))
    holding = Counter(word for ws in words for word in set(ws))
    for row, sentence_words in enumerate(words):
        for word, frequency in Counter(sentence_words).items():
            idf = math.log((1 + len(words)) / (1 + holding[word])) + 1.0
            matrix[row, vocabulary[word]] = frequency * idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def _forward_centrality(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """For each sentence, its summed similarity to the sentences after it."""
    similarity = vectors @ vectors.T
    return np.triu(similarity, k=1).sum(axis=1)


def _shape_factor(sentence: str, words: list[str]) -> float:
    """1 for an ordinary sentence, less for odd lengths, 0 for fragments and page furniture."""
    if len(words) < MIN_WORDS or any(p.search(sentence) for p in _JUNK_PATTERNS):
        return 0.0
    if len(words) < SHORTEST_GOOD_WORDS:
        return len(words) / SHORTEST_GOOD_WORDS
    if len(words) > LONGEST_GOOD_WORDS:
        return LONGEST_GOOD_WORDS / len(words)
    return 1.0


def _choose(scores: NDArray[np.float64], words: list[list[str]], count: int) -> list[int]:
    """Indices of the best-scoring sentences, skipping near-duplicates of chosen ones."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    for index in order:
        if len(chosen) == count:
            break
        if all(_overlap(words[index], words[other]) < MAX_OVERLAP for other in chosen):
            chosen.append(index)
    for index in order:  # too few distinct sentences: fill up with the remaining best
        if len(chosen) == count:
            break
        if index not in chosen:
            chosen.append(index)
    return chosen


def _overlap(candidate: list[str], chosen: list[str]) -> float:
    """Share of the candidate's distinct words that the chosen sentence already has."""
    distinct = set(candidate)
    if not distinct:
        return 1.0
    return len(distinct & set(chosen)) / len(distinct)


def _normalised(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``values`` divided by their maximum (all zeros stay zeros)."""
    peak = float(values.max()) if values.size else 0.0
    return values / peak if peak > 0 else np.zeros_like(values)


def _unit(vector: NDArray[np.float64]) -> NDArray[np.float64]:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
