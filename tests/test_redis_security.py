"""A Redis with a password behind TLS (rediss://): the API, workers and reconciler all work,
and the password appears in no log line and no answer."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from newsdesk.embedded_redis import free_port, redis_server_command, wait_for_redis
from tests.conftest import SEEDS, Stack, wait_for_status

pytestmark = pytest.mark.e2e
PASSWORD = "s3cret-redis-passw0rd-for-tests"


class TlsProxy:
    """TLS in front of a plain redis-server, in a thread of its own (what a managed Redis or a
    stunnel does), so the clients really speak rediss://."""

    def __init__(self, context: ssl.SSLContext, target_port: int) -> None:
        self.context = context
        self.target_port = target_port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.AbstractServer | None = None

    def start(self) -> None:
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        started.result(10)

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                 ssl=self.context)  # fmt: skip

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        async def close() -> None:
            if self.server is not None:
                self.server.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[str]:
    """A password-protected redis-server reachable only through TLS; yields its rediss:// URL."""
    port = free_port()
    command = [*redis_server_command(data_dir=tmp_path, port=port), "--requirepass", PASSWORD]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    proxy = TlsProxy(context, port)
    proxy.start()
    url = (f"rediss://:{PASSWORD}@127.0.0.1:{proxy.port}/0"
           f"?ssl_cert_reqs=required&ssl_ca_certs={ca_file}")  # fmt: skip
    try:
        wait_for_redis(url, process=process)  # type: ignore[arg-type]
        yield url
    finally:
        proxy.stop()
        process.terminate()
        process.wait(10)


def test_tls_and_a_password_work_everywhere_and_the_password_never_shows(
    tls_redis: str, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(tls_redis)
    stack.worker(concurrency=1)
    stack.run("reconciler", "reconcile")
    stack.api()
    with stack.client() as client:
        response = client.post("/v1/documents", content=(SEEDS / "article.txt").read_bytes(),
                               headers={"Content-Type": "text/plain"})  # fmt: skip
        assert response.status_code == 202, response.text
        view = wait_for_status(client, response.json()["id"], {"completed", "failed"})
        answers = [response.text, client.get(f"/v1/documents/{view['id']}").text,
                   client.get("/metrics").text, client.get("/readyz/workers").text]  # fmt: skip
    assert view["status"] == "completed", stack.logs()
    everything = "\n".join(answers) + "\n" + "\n".join(s.log() for s in stack.services)
    assert PASSWORD not in everything
    assert "Connected to" in stack.logs(), "the worker's broker connection went through TLS too"


def test_a_wrong_password_is_a_clear_503_without_the_password(
    tls_redis: str, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(tls_redis.replace(PASSWORD, "not-the-password"))
    stack.api()
    with stack.client() as client:
        response = client.post("/v1/documents", json={"content": "Some news."})
        ready = client.get("/readyz")
    assert response.status_code == 503 and ready.status_code == 503
    assert "not accepted" in response.json()["detail"] and "doc_id" not in response.json()
    assert "not-the-password" not in response.text + ready.text + stack.logs()
