"""Language of a document, detected offline with langid's bundled model.

langid reads character n-grams, so emoji, symbols and digits only add noise to it (a few
words among emoji were read as Latin or Amharic "with certainty"). Detection therefore reads
letters only, answers ``und`` (undetermined, ISO 639-2) with confidence 0 when there are too
few letters to judge, and never reports more confidence than the amount of text supports.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from contracts.results import LanguageGuess

# langid is unreliable on a few words; past this many characters of text it reads enough.
_SAMPLE_CHARS = 20_000
# Languages the entity model (en_core_web_sm) was trained on.
ENTITY_LANGUAGES = frozenset({"en"})
# Below this confidence a detection is reported but not trusted to skip a stage.
CONFIDENT = 0.8
# The code for "not enough text to tell".
UNDETERMINED = "und"
# Fewer letters than this: undetermined. Up to FULL_CONFIDENCE_LETTERS, confidence is capped
# in proportion to the letters read (a short text is never detected "with certainty").
MIN_LETTERS = 12
FULL_CONFIDENCE_LETTERS = 100
# Anything that is not a letter (emoji, symbols, digits, punctuation) becomes a space.
_NOT_LETTER = re.compile(r"[\W\d_]+")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def detect_language(text: str) -> LanguageGuess:
    """The most likely ISO 639-1 language of ``text``'s letters, and how sure we may be.

    ``und`` with confidence 0 when the text has fewer than ``MIN_LETTERS`` letters.
    """
    words = _NOT_LETTER.sub(" ", text[:_SAMPLE_CHARS]).strip()
    letters = len(words) - words.count(" ")
    if letters < MIN_LETTERS:
        return LanguageGuess(code=UNDETERMINED, confidence=0.0, source="detected")
    code, probability = _identifier().classify(words)
    confidence = float(probability) * min(1.0, letters / FULL_CONFIDENCE_LETTERS)
    return LanguageGuess(code=str(code), confidence=round(confidence, 4), source="detected")


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
