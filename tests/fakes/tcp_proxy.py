"""A proxy a test can cut: the network between the app and its database failing, then coming
back (what a managed database's failover or maintenance does to the app). Over loopback TCP, or
over a Unix socket (the suite's own PostgreSQL listens on one).

While cut, it refuses connections and every connection through it is closed; restored, it
listens at the same address again.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int] | str, listen_path: str | None = None):
        """`target`: (host, port), or a Unix socket's path, then listening at `listen_path`."""
        self.target = target
        self.family = socket.AF_INET if isinstance(target, tuple) else socket.AF_UNIX
        self.listen_path = listen_path
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def _listen(self) -> None:
        listener = socket.socket(self.family)
        if self.family == socket.AF_UNIX:
            assert self.listen_path is not None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen_path)
            listener.bind(self.listen_path)
        else:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            self.port = listener.getsockname()[1]
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or stopped
            try:
                server = socket.socket(self.family)
                server.connect(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._open.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def cut(self) -> None:
        """New connections refused, and those open closed."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes its accept
            self._listener.close()
            self._listener = None
        with self._lock:
            live = list(self._open)
        for end in live:
            self._close(end)

    def restore(self) -> None:
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self.cut()
