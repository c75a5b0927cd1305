"""A TCP proxy on 127.0.0.1 that a test can cut: the failover test puts one between each bot and the
PostgreSQL server, so that one bot loses the database while the others keep it.

:meth:`CutProxy.cut` drops every open connection (both sockets shut down: the bot's side sees the server
close, as when a firewall resets it) and refuses new ones (accepted, then closed at once) until
:meth:`CutProxy.restore`. A reset rather than a silent black hole: the bot meets the cut at its next
statement instead of at a timeout, which keeps the test short; a black hole is bounded the same way by the
lease (the holder stops acting at the margin whatever its connections do).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

CHUNK = 65_536


class CutProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream``; started by ``with`` (or :meth:`start`), closed at the end."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    def start(self) -> CutProxy:
        threading.Thread(target=self._accept, name="cut-proxy", daemon=True).start()
        return self

    def __enter__(self) -> CutProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            self._cut = True
            dropped, self._open = self._open, set()
        for sock in dropped:
            _shut(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                refused = self._cut
            if refused:
                _shut(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _shut(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        """Copy ``source`` to ``target`` until either ends; then end both."""
        try:
            while data := source.recv(CHUNK):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, target}
            _shut(source)
            _shut(target)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
