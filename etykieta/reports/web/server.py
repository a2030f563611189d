"""The web application under uvicorn: the listening socket and the server (``etykieta serve``).

The socket is bound before the server starts, so that a taken port is told at once, and
``make demo`` can take the next free one.
"""

from __future__ import annotations

import errno
import socket

import uvicorn
from starlette.applications import Starlette

PORT_TRIES = 50


class ListenError(OSError):
    """The address cannot be listened on; the message says why."""


def listen(host: str, port: int, *, search: bool = False) -> socket.socket:
    """A socket listening on ``host:port`` or, with ``search``, on the next free port after
    it (at most :data:`PORT_TRIES` tried)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last = min(port + (PORT_TRIES if search else 1), 65536) - 1
    for candidate in range(port, last + 1):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, candidate))
        except OSError as exc:
            listener.close()
            if exc.errno == errno.EADDRINUSE:
                continue
            raise ListenError(f"cannot listen on {host}:{candidate}: "
                              f"{exc.strerror or exc}") from exc
        listener.listen(128)
        listener.set_inheritable(True)
        return listener
    tried = f"ports {port}–{last} are" if search else f"port {port} is"
    raise ListenError(f"{host}: {tried} already in use")


def serve(app: Starlette, listener: socket.socket, *, proxy_headers: bool,
          access_log: bool) -> None:
    """Serve ``app`` on ``listener`` until SIGINT or SIGTERM (uvicorn stops gracefully)."""
    config = uvicorn.Config(app, log_level="warning", access_log=access_log,
                            proxy_headers=proxy_headers, server_header=False)
    uvicorn.Server(config).run(sockets=[listener])
