"""Each stage as one pure function from its input to its contract output."""

from __future__ import annotations

from spacy.language import Language

from contracts.documents import DocumentOptions
from contracts.results import CleanResult, EntitiesResult, SummarizeOutput
from workers.pipeline.clean import clean_document
from workers.pipeline.entities import extract_entities
from workers.pipeline.keywords import extract_keywords
from workers.pipeline.language import declared_language, detect_language, entity_support
from workers.pipeline.sentences import split_sentences
from workers.pipeline.summarize import summarize


def run_clean(*, content: str, content_type: str, options: DocumentOptions) -> CleanResult:
    """Main text and metadata, plus the document's language (declared or detected)."""
    cleaned = clean_document(content=content, content_type=content_type, url=options.url)
    warnings = list(cleaned.warnings)
    if options.language:
        language = declared_language(options.language)
    else:
        language = detect_language(cleaned.text)
    _, warning = entity_support(language)
    if warning:
        warnings.append(warning)
    update: dict[str, object] = {"language": language, "warnings": warnings}
    if options.title:
        update["title"] = options.title
    return cleaned.model_copy(update=update)


def run_entities(*, clean: CleanResult, nlp: Language) -> EntitiesResult:
    """Entities of the cleaned text, or a reason why the model cannot be trusted on it."""
    if clean.language is not None:
        supported, reason = entity_support(clean.language)
        if not supported:
            return EntitiesResult(skipped=reason)
    return extract_entities(nlp, clean.text, title=clean.title)


def run_summarize(
    *, clean: CleanResult, options: DocumentOptions, nlp: Language
) -> SummarizeOutput:
    """Extractive summary of the cleaned text and its key phrases."""
    sentences = split_sentences(nlp, clean.text)
    summary = summarize(
        text=clean.text, sentences=sentences, count=options.summary_sentences, title=clean.title
    )
    language = clean.language.code if clean.language else "en"
    return SummarizeOutput(
        summary=summary, keywords=extract_keywords(clean.text, language=language)
    )
