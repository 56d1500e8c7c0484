"""Where a document lives in Redis: key names and the fields of the record hash."""

from __future__ import annotations

from contracts.wire import QUEUE_BY_STAGE, STAGE_ORDER, Stage

KEY_PREFIX = "newsdesk:"

# Fields of the record hash ``{prefix}doc:{id}``.
STATUS = "status"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
FINISHED_AT = "finished_at"
CONTENT_TYPE = "content_type"
CONTENT_BYTES = "content_bytes"
OPTIONS = "options"  # DocumentOptions as JSON
ERROR = "error"  # DocumentError as JSON, absent until the document fails
OWNER = "owner"  # id of the API key that submitted the document ("" without keys)
BATCH = "batch"  # id of the batch the document came in, if any
WEBHOOK = "webhook"  # WebhookState as JSON, once a delivery was tried


# Per-stage field names, computed once (they are built on every transition).
_FIELDS = {
    (kind, stage): f"{kind}:{stage.value}"
    for kind in ("stage", "attempts", "run", "lease", "queued", "tag")
    for stage in STAGE_ORDER
}


def stage_field(stage: Stage) -> str:
    """Field holding a stage's StageState (status, times, error) as JSON."""
    return _FIELDS[("stage", stage)]


def attempts_field(stage: Stage) -> str:
    """Integer field counting how often a stage was started."""
    return _FIELDS[("attempts", stage)]


def run_field(stage: Stage) -> str:
    """Field naming the task run that holds the stage's lease (a fencing token)."""
    return _FIELDS[("run", stage)]


def lease_field(stage: Stage) -> str:
    """Epoch seconds until which the running stage's lease holds unless its heartbeat renews it."""
    return _FIELDS[("lease", stage)]


def queued_field(stage: Stage) -> str:
    """Epoch seconds at which the stage's latest message was queued."""
    return _FIELDS[("queued", stage)]


def tag_field(stage: Stage) -> str:
    """Delivery tag of the stage's latest message (its exact bytes can be rebuilt from it)."""
    return _FIELDS[("tag", stage)]


class Keys:
    """Redis keys owned by newsdesk; one prefix so a Redis can host other things too."""

    def __init__(self, prefix: str = KEY_PREFIX) -> None:
        self.prefix = prefix

    def document(self, doc_id: str) -> str:
        """Hash with the document's status, options and per-stage state."""
        return f"{self.prefix}doc:{doc_id}"

    def content(self, doc_id: str) -> str:
        """String with the submitted content, as received."""
        return f"{self.prefix}doc:{doc_id}:content"

    def output(self, doc_id: str, stage: Stage) -> str:
        """String with one stage's output as contract JSON; a re-run overwrites it."""
        return f"{self.prefix}doc:{doc_id}:out:{stage.value}"

    def events(self, doc_id: str) -> str:
        """Stream of the document's state changes (what the event stream replays)."""
        return f"{self.prefix}doc:{doc_id}:events"

    def idempotency(self, key_digest: str) -> str:
        """String mapping a client's Idempotency-Key (hashed) to ``doc_id:fingerprint``."""
        return f"{self.prefix}idem:{key_digest}"

    def tombstone(self, doc_id: str) -> str:
        """Marker left when a document expires or is deleted, so its id answers 410, not 404."""
        return f"{self.prefix}gone:{doc_id}"

    def batch(self, batch_id: str) -> str:
        """Hash describing a batch: its owner, creation time and item ids."""
        return f"{self.prefix}batch:{batch_id}"

    def in_flight(self, owner: str) -> str:
        """Sorted set of one owner's unfinished documents, scored by their content bytes."""
        return f"{self.prefix}in-flight:{owner or '-'}"

    def in_flight_bytes(self, owner: str) -> str:
        """Counter of the content bytes of one owner's unfinished documents."""
        return f"{self.prefix}in-flight-bytes:{owner or '-'}"

    def rate_bucket(self, owner: str) -> str:
        """Hash holding one owner's request-rate token bucket (tokens, last refill)."""
        return f"{self.prefix}rate:{owner or '-'}"

    def index(self, owner: str) -> str:
        """Sorted set of one owner's documents scored by creation time (for listing)."""
        return f"{self.prefix}docs:by-owner:{owner or '-'}"

    @property
    def pending(self) -> str:
        """Sorted set of unfinished document ids, scored by when the reconciler must look at
        them next (the end of a running stage's lease, or a queued stage's check time)."""
        return f"{self.prefix}docs:pending"

    @property
    def progress(self) -> str:
        """Sorted set: per stage, the queue time of the latest message a worker started."""
        return f"{self.prefix}queues:progress"

    @property
    def notifications(self) -> str:
        """Pub/sub channel carrying the id of every document whose state changed, and the kind
        of the change (``notification``)."""
        return f"{self.prefix}notify"

    @property
    def fsync_probe(self) -> str:
        """A counter written only so that waiting for its fsync covers every earlier write."""
        return f"{self.prefix}fsync-probe"

    @property
    def workers(self) -> str:
        """Sorted set of worker processes scored by their last heartbeat (epoch seconds)."""
        return f"{self.prefix}workers"

    def worker(self, name: str) -> str:
        """Hash describing one worker process: host, pid, queues, when its models loaded."""
        return f"{self.prefix}worker:{name}"

    @property
    def metrics(self) -> str:
        """Hash of cluster-wide counters and histograms (see records.metrics)."""
        return f"{self.prefix}metrics"

    @property
    def dead_letters(self) -> str:
        """List of queue entries no worker could read (kept for an operator, never run)."""
        return f"{self.prefix}dead-letters"

    def queue(self, stage: Stage) -> str:
        """The Redis list Celery's Redis transport consumes for ``stage`` (priority 0)."""
        return QUEUE_BY_STAGE[stage]

    def all_for(self, doc_id: str) -> list[str]:
        """Every key that holds part of one document."""
        return [
            self.document(doc_id),
            self.content(doc_id),
            self.events(doc_id),
            *(self.output(doc_id, stage) for stage in STAGE_ORDER),
        ]


# The kind of event that ends a document (completed, failed or cancelled).
FINISHING_EVENT = "document"


def notification(doc_id: str, event: str) -> str:
    """What the notification channel carries for one change: the id, then the event's kind."""
    return f"{doc_id} {event}"


def parse_notification(message: str) -> tuple[str, str | None]:
    """The document id and the event kind of a notification (None if it names none)."""
    doc_id, _, event = message.partition(" ")
    return doc_id, event or None
