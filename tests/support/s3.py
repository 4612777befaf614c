"""A real S3 server for the storage tests: moto's server started as a child process on
127.0.0.1, reached over HTTP by boto3 exactly as MinIO or AWS would be, behind a TCP relay the
tests can cut (an outage without losing the server's in-memory objects).
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.stack import BIN, ServiceProcess, free_port, start_process

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class Relay:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` refuses and drops every
    connection (the server looks down), :meth:`restore` listens again on the same port."""

    def __init__(self, target: int) -> None:
        self.target, self.port = target, free_port()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """Accept connections again."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and close every relayed connection."""
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._open:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(1 << 16):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@dataclass
class S3Server:
    """moto's server and the relay in front of it; ``endpoint`` goes through the relay."""

    process: ServiceProcess
    relay: Relay

    @property
    def endpoint(self) -> str:
        """``AWS_ENDPOINT_URL`` for the services under test."""
        return f"http://127.0.0.1:{self.relay.port}"

    def env(self) -> dict[str, str]:
        """What a process needs to reach the server."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}


@contextmanager
def s3_server(folder: Path) -> Iterator[S3Server]:
    """Start ``moto_server`` on a free port, wait until it answers; killed on exit."""
    port = free_port()
    args = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    process = start_process(args, env={}, log=folder / "moto.log")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.process.poll() is not None:
                    raise RuntimeError(f"moto_server did not start:\n{process.output()}") from None
                time.sleep(0.1)
        relay = Relay(port)
        try:
            yield S3Server(process, relay)
        finally:
            relay.cut()
    finally:
        process.kill()
