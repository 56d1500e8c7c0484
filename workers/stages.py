"""The stage registry: for each stage, what it reads and the pipeline function it runs.

Adding or changing a stage touches its entry here, its pipeline module and its contract
output (``contracts.stages``) — never the task code or the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from spacy.language import Language

from contracts.results import CleanResult, EntitiesOutput, StageOutput
from contracts.wire import STAGE_ORDER, Stage
from records.codec import DocumentRecord
from workers.pipeline.stages import run_clean, run_entities, run_summarize


@dataclass(frozen=True)
class StageInputs:
    """What a stage function may read: the record, the content and earlier stages' outputs."""

    record: DocumentRecord
    content: str | None
    outputs: Mapping[Stage, StageOutput]
    nlp: Callable[[], Language]

    def output(self, stage: Stage) -> StageOutput:
        return self.outputs[stage]


@dataclass(frozen=True)
class StageSpec:
    """One stage: the inputs it reads and the pure function it runs."""

    stage: Stage
    reads_content: bool
    reads_outputs: tuple[Stage, ...]
    compute: Callable[[StageInputs], StageOutput]
    is_skipped: Callable[[StageOutput], bool] = lambda _: False


def _clean(inputs: StageInputs) -> StageOutput:
    assert inputs.content is not None
    record = inputs.record
    return run_clean(
        content=inputs.content, content_type=record.content_type, options=record.options
    )


def _entities(inputs: StageInputs) -> StageOutput:
    return run_entities(clean=cast(CleanResult, inputs.output(Stage.CLEAN)), nlp=inputs.nlp())


def _summarize(inputs: StageInputs) -> StageOutput:
    return run_summarize(
        clean=cast(CleanResult, inputs.output(Stage.CLEAN)),
        analysis=cast(EntitiesOutput, inputs.output(Stage.ENTITIES)),
        options=inputs.record.options,
    )


def _entities_skipped(output: StageOutput) -> bool:
    return isinstance(output, EntitiesOutput) and output.entities.skipped is not None


STAGES: dict[Stage, StageSpec] = {
    Stage.CLEAN: StageSpec(Stage.CLEAN, reads_content=True, reads_outputs=(), compute=_clean),
    Stage.ENTITIES: StageSpec(
        Stage.ENTITIES, reads_content=False, reads_outputs=(Stage.CLEAN,), compute=_entities,
        is_skipped=_entities_skipped,
    ),
    Stage.SUMMARIZE: StageSpec(
        Stage.SUMMARIZE, reads_content=False, reads_outputs=(Stage.CLEAN, Stage.ENTITIES),
        compute=_summarize,
    ),
}  # fmt: skip
assert tuple(STAGES) == STAGE_ORDER, "every stage has one registry entry, in order"
