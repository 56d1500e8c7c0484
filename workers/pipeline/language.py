"""Language of a document, detected offline with langid's bundled model."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from contracts.results import LanguageGuess

# langid is unreliable on a few words; past this many characters of text it reads enough.
_SAMPLE_CHARS = 20_000
# Languages the entity model (en_core_web_sm) was trained on.
ENTITY_LANGUAGES = frozenset({"en"})
# Below this confidence a detection is reported but not trusted to skip a stage.
CONFIDENT = 0.8


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def detect_language(text: str) -> LanguageGuess:
    """The most likely ISO 639-1 language of ``text`` and langid's probability for it."""
    code, probability = _identifier().classify(text[:_SAMPLE_CHARS])
    return LanguageGuess(code=str(code), confidence=round(float(probability), 4), source="detected")


def declared_language(tag: str) -> LanguageGuess:
    """The language a client declared ("en-GB" -> "en"), taken as certain."""
    return LanguageGuess(
        code=tag.replace("_", "-").split("-")[0].lower(), confidence=1.0, source="declared"
    )


def entity_support(language: LanguageGuess) -> tuple[bool, str | None]:
    """Whether to extract entities, and a warning when the answer may be wrong."""
    if language.code in ENTITY_LANGUAGES:
        return True, None
    if language.confidence < CONFIDENT:
        return True, (
            f"language looks like '{language.code}' (confidence {language.confidence:.2f}); "
            "entities were extracted with the English model and may be unreliable"
        )
    return (
        False,
        f"the entity model supports {', '.join(sorted(ENTITY_LANGUAGES))}, not '{language.code}'",
    )
