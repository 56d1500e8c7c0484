"""What each stage produces. Offsets are Python string indices into the cleaned text."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageOutput(_Output):
    """What one stage stores; it knows which fields of the document's result it fills."""

    def result_fields(self) -> dict[str, object]:
        """The ``DocumentResult`` fields this output provides."""
        raise NotImplementedError


class LanguageGuess(_Output):
    """The document's language: ISO 639-1 code, how sure we are, and where it came from."""

    code: str
    confidence: float = Field(ge=0.0, le=1.0)
    source: str = Field(description="'detected' from the text, or 'declared' by the client")


class CleanResult(StageOutput):
    """Main text and metadata of a document, with what was dropped to get there."""

    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    site: str | None = None
    removed: list[str] = Field(default_factory=list)
    language: LanguageGuess | None = None
    warnings: list[str] = Field(default_factory=list)

    def result_fields(self) -> dict[str, object]:
        return {"clean": self, "language": self.language, "warnings": list(self.warnings)}


class Mention(_Output):
    """One occurrence of an entity: ``text == clean.text[start:end]``."""

    text: str
    label: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Entity(_Output):
    """One distinct entity: its mentions grouped, one label, a canonical name and a salience."""

    name: str
    label: str
    count: int = Field(ge=1)
    first_start: int = Field(ge=0)
    salience: float = Field(ge=0.0, le=1.0)
    mentions: list[int] = Field(
        default_factory=list, description="indices into EntitiesResult.mentions"
    )


class EntitiesResult(_Output):
    """Entity mentions in text order, and distinct entities sorted by salience."""

    mentions: list[Mention] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    skipped: str | None = Field(
        default=None, description="why entities were not extracted (e.g. unsupported language)"
    )


class SummarySentence(_Output):
    """One extracted sentence: ``text == clean.text[start:end]``; higher score ranks higher."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float


class SummaryResult(_Output):
    """Extractive summary: sentences in document order and their joined text."""

    sentences: list[SummarySentence] = Field(default_factory=list)
    text: str = ""


class Keyword(_Output):
    """A key phrase of the document with a relevance score in [0, 1] (higher is more relevant)."""

    text: str
    score: float = Field(ge=0.0, le=1.0)


class SentenceSpan(_Output):
    """A sentence of the cleaned text as a half-open character range ``[start, end)``."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class EntitiesOutput(StageOutput):
    """What the entities stage stores: the entities, and the sentence boundaries found in the
    same model pass (the summarize stage reads them instead of running the model again)."""

    entities: EntitiesResult
    sentences: list[SentenceSpan] = Field(default_factory=list)

    def result_fields(self) -> dict[str, object]:
        return {"entities": self.entities}


class SummarizeOutput(StageOutput):
    """What the summarize stage stores: the summary and the document's key phrases."""

    summary: SummaryResult
    keywords: list[Keyword] = Field(default_factory=list)

    def result_fields(self) -> dict[str, object]:
        return {"summary": self.summary, "keywords": list(self.keywords)}
