"""Key phrases of a document with YAKE (statistical, needs no model)."""

from __future__ import annotations

from contracts.results import Keyword

# YAKE ships stop-word lists for these; another language falls back to no stop words.
_YAKE_LANGUAGES = frozenset(
    [
        "ar",
        "bg",
        "br",
        "cz",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fa",
        "fi",
        "fr",
        "hi",
        "hr",
        "hu",
        "hy",
        "id",
        "it",
        "ja",
        "lt",
        "lv",
        "nl",
        "no",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "tr",
        "uk",
        "zh",
    ]
)
_MAX_CHARS = 200_000


def extract_keywords(text: str, *, language: str = "en", top: int = 10) -> list[Keyword]:
    """Up to ``top`` key phrases (1–3 words), most relevant first, scored in (0, 1]."""
    import yake

    if not text.strip():
        return []
    extractor = yake.KeywordExtractor(
        lan=language if language in _YAKE_LANGUAGES else "en", n=3, dedupLim=0.7, top=top
    )
    ranked = extractor.extract_keywords(text[:_MAX_CHARS])
    if not ranked:
        return []
    # YAKE scores are lower-is-better and unbounded: express each relative to the best one.
    best = max(min(score for _, score in ranked), 1e-12)
    return [
        Keyword(text=phrase, score=round(min(1.0, best / max(score, 1e-12)), 4))
        for phrase, score in ranked
    ]
