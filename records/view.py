"""A record and its stage outputs as clients see them (``DocumentView``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from pydantic import ValidationError

from contracts.documents import DocumentResult, DocumentView, StageView
from contracts.results import StageOutput
from contracts.stages import STAGE_OUTPUTS
from contracts.wire import STAGE_ORDER, Stage
from records.codec import DocumentRecord


def document_view(
    record: DocumentRecord, outputs: Mapping[Stage, bytes | str | None]
) -> DocumentView:
    """The document's status, per-stage progress and whatever results exist.

    A damaged record or output never breaks the view: the document shows as failed, saying
    what cannot be read.
    """
    parsed: list[StageOutput] = []
    problems = list(record.problems)
    for stage in STAGE_ORDER:
        raw = outputs.get(stage)
        if raw is None:
            continue
        try:
            parsed.append(STAGE_OUTPUTS[stage].model_validate_json(raw))
        except ValidationError as exc:
            problems.append(f"the {stage.value} output is damaged ({exc.errors()[0]['msg']})")
    if problems != list(record.problems):
        record = replace(record, problems=tuple(problems))
    return DocumentView(
        id=record.doc_id,
        status=record.visible_status(),
        created_at=record.created_at,
        updated_at=record.updated_at,
        content_type=record.content_type,
        options=record.options,
        stages={stage.value: stage_view(record, stage) for stage in STAGE_ORDER},
        result=DocumentResult.compose(parsed),
        error=record.visible_error(),
        webhook=record.webhook,
        batch_id=record.batch_id,
    )


def stage_view(record: DocumentRecord, stage: Stage) -> StageView:
    """One stage's progress as clients see it."""
    state = record.stages[stage]
    return StageView(**state.state().model_dump(), attempts=state.attempts)
