"""What each stage stores, so the API can read any stage's output without knowing the stage."""

from __future__ import annotations

from contracts.results import CleanResult, EntitiesOutput, StageOutput, SummarizeOutput
from contracts.wire import STAGE_ORDER, Stage

STAGE_OUTPUTS: dict[Stage, type[StageOutput]] = {
    Stage.CLEAN: CleanResult,
    Stage.ENTITIES: EntitiesOutput,
    Stage.SUMMARIZE: SummarizeOutput,
}
assert set(STAGE_OUTPUTS) == set(STAGE_ORDER), "every stage declares its output"
