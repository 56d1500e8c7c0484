"""Command line: ``newsdesk up | api | worker | reconcile | healthcheck | submit | get | watch``."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from redis.exceptions import RedisError

from contracts.wire import QUEUE_BY_STAGE, STAGE_ORDER, WEBHOOK_QUEUE
from newsdesk.client_cli import add_client_commands
from newsdesk.logs import configure_logging

ALL_QUEUES = ",".join(QUEUE_BY_STAGE[stage] for stage in STAGE_ORDER)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``newsdesk`` console script."""
    args = _parser().parse_args(argv)
    # The client commands print for people; the services log what they do.
    quiet = getattr(args, "client_command", False)
    configure_logging(
        level=os.environ.get("NEWSDESK_LOG_LEVEL", "WARNING" if quiet else "INFO"),
        fmt=os.environ.get("NEWSDESK_LOG_FORMAT", "auto"),
    )
    result: int = args.run(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdesk", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run Redis (embedded unless NEWSDESK_REDIS_URL is set), the API, a worker and the reconciler",
    )
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--concurrency", type=int, default=_worker_concurrency() or 1)
    up.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var"),
        help="where the embedded Redis keeps its data (default: ./var)",
    )
    up.set_defaults(run=_up)

    api = commands.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("NEWSDESK_API_WORKERS", "1") or 1),
        help="API processes sharing the port (default: NEWSDESK_API_WORKERS, else 1)",
    )
    api.set_defaults(run=_api)

    worker = commands.add_parser("worker", help="run a Celery worker for the stage queues")
    worker.add_argument(
        "--queues",
        default=ALL_QUEUES,
        help=f"comma-separated, of {ALL_QUEUES},{WEBHOOK_QUEUE} (default: {ALL_QUEUES})",
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="processes (default: NEWSDESK_WORKER_CONCURRENCY, else the CPUs this process may use)",
    )
    worker.add_argument(
        "--pool",
        choices=["prefork", "threads"],
        default="prefork",
        help="prefork for the stages (CPU); threads for webhooks (waiting on the network)",
    )
    worker.add_argument(
        "--hostname", default=None, help="Celery node name (default: worker-PID@HOST)"
    )
    worker.set_defaults(run=_worker)

    reconcile = commands.add_parser("reconcile", help="re-queue documents whose stage stalled")
    reconcile.set_defaults(run=_reconcile)

    health = commands.add_parser(
        "healthcheck", help="exit 0 when the api, this host's worker or Redis answers"
    )
    health.add_argument("component", choices=["api", "worker", "redis"])
    health.add_argument("--url", default="http://127.0.0.1:8000/readyz")
    health.set_defaults(run=_healthcheck)

    add_client_commands(commands)
    return parser


def _worker_concurrency() -> int | None:
    """NEWSDESK_WORKER_CONCURRENCY when set, else the CPUs this process may run on."""
    configured = os.environ.get("NEWSDESK_WORKER_CONCURRENCY", "").strip()
    if not configured:
        return len(os.sched_getaffinity(0)) or 1
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return None


def _up(args: argparse.Namespace) -> int:
    from newsdesk.supervisor import run_stack

    return run_stack(
        host=args.host, port=args.port, concurrency=args.concurrency, data_dir=args.data_dir
    )


def _api(args: argparse.Namespace) -> int:
    import tempfile

    import uvicorn

    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several processes: prometheus-client adds up their HTTP metrics through files here.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="newsdesk-metrics-")
    uvicorn.run(
        "services.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,  # keep newsdesk's formatter (JSON or text)
        access_log=os.environ.get("NEWSDESK_ACCESS_LOG", "").lower() in ("1", "true", "yes"),
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    # The pool's processes already fill the cores: numpy's BLAS threads (one per core in every
    # process, spinning between the summary model's matrix products) would only take CPU from
    # them. Set before anything imports numpy: its BLAS reads them once, when loaded.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    from workers.celery_app import create_celery

    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - {*QUEUE_BY_STAGE.values(), WEBHOOK_QUEUE})
    if unknown or not queues:
        print(
            f"newsdesk worker: unknown queue(s) {', '.join(unknown) or '(none)'}; "
            f"known: {ALL_QUEUES},{WEBHOOK_QUEUE}",
            file=sys.stderr,
        )
        return 2
    concurrency = _worker_concurrency() if args.concurrency is None else args.concurrency
    if concurrency is None or concurrency < 1:
        print("newsdesk worker: the concurrency must be a positive number", file=sys.stderr)
        return 2
    os.environ["NEWSDESK_WORKER_QUEUES"] = ",".join(queues)
    os.environ["NEWSDESK_WORKER_POOL"] = args.pool
    app = create_celery()
    hostname = args.hostname or f"worker-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(
        [
            "--quiet",  # no banner: the logs stay one record a line
            "worker",
            "--queues",
            ",".join(queues),
            "--concurrency",
            str(concurrency),
            "--pool",
            args.pool,
            "--hostname",
            hostname,
            "--loglevel",
            os.environ.get("NEWSDESK_LOG_LEVEL", "INFO"),
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return 0


def _reconcile(_: argparse.Namespace) -> int:
    from records.store import RecordStore
    from workers.reconciler import run_reconciler
    from workers.settings import WorkerSettings

    settings = WorkerSettings()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    store = RecordStore.connect(settings)
    run_reconciler(store, interval=settings.reconcile_interval_seconds, stop=stop)
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    if args.component == "api":
        import httpx

        try:
            return 0 if httpx.get(args.url, timeout=5).status_code == 200 else 1
        except httpx.HTTPError:
            return 1
    if args.component == "redis":
        from redis import Redis

        from records.policy import RecordSettings as RedisSettings

        client = Redis.from_url(
            RedisSettings().redis_url, socket_connect_timeout=5, socket_timeout=5
        )
        try:
            return 0 if client.ping() else 1
        except RedisError:
            return 1
        finally:
            client.close()
    from newsdesk.readiness import workers_on_host
    from records.policy import RecordSettings
    from records.store import RecordStore

    store = RecordStore.connect(RecordSettings())
    try:
        ready = [worker for worker in workers_on_host(store, socket.gethostname()) if worker.ready]
    except RedisError:
        return 1
    return 0 if ready else 1
