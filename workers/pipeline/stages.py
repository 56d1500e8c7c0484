"""Each stage as one pure function from its inputs to its contract output."""

from __future__ import annotations

from spacy.language import Language

from contracts.documents import DocumentOptions
from contracts.results import (
    CleanResult,
    EntitiesOutput,
    EntitiesResult,
    SentenceSpan,
    SummarizeOutput,
)
from workers.pipeline.clean import clean_document
from workers.pipeline.entities import group_mentions, read_text
from workers.pipeline.keywords import extract_keywords
from workers.pipeline.language import declared_language, detect_language, entity_support
from workers.pipeline.sentences import TextSpan
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


def run_entities(*, clean: CleanResult, nlp: Language) -> EntitiesOutput:
    """Entities of the cleaned text (or why the model cannot be trusted on it), and its
    sentences, from one model pass."""
    reason = None
    if clean.language is not None:
        supported, why = entity_support(clean.language)
        reason = None if supported else why
    reading = read_text(nlp, clean.text, entities=reason is None)
    sentences = [SentenceSpan(start=s.start, end=s.end) for s in reading.sentences]
    if reason is not None:
        return EntitiesOutput(entities=EntitiesResult(skipped=reason), sentences=sentences)
    entities = group_mentions(
        reading.mentions, text_length=len(clean.text), title=clean.title, text=clean.text
    )
    return EntitiesOutput(entities=entities, sentences=sentences)


def run_summarize(
    *, clean: CleanResult, analysis: EntitiesOutput, options: DocumentOptions
) -> SummarizeOutput:
    """Extractive summary of the cleaned text (over the sentences the entities stage found)
    and its key phrases."""
    sentences = [TextSpan(s.start, s.end) for s in analysis.sentences]
    summary = summarize(
        text=clean.text, sentences=sentences, count=options.summary_sentences, title=clean.title
    )
    language = clean.language.code if clean.language else "en"
    return SummarizeOutput(
        summary=summary, keywords=extract_keywords(clean.text, language=language)
    )
