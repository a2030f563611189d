"""Which RTP datagrams are the answering employee's voice (SDP offer/answer, RFC 3264).

On an answered leg the callee — the employee's phone, or the PBX's phone leg — sends its audio to
the address the *caller side* announced in SDP: the INVITE's offer, or a later re-INVITE/UPDATE
from the caller side that moved its media. ``MediaRouter`` keeps, per watched leg, that
announced address and the time it became valid, and tells for each datagram which watch it
belongs to. With symmetric RTP behind NAT (RFC 4961) the source is latched: the first source
seen sending to the announced address is the phone; datagrams from any other source are counted
and left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .packets import Datagram

Address = tuple[str, int]


@dataclass(slots=True)
class _Watch:
    key: str
    destination: Address
    since: float
    source: Address | None = None
    foreign: int = 0  # datagrams to the address from another source than the latched one


@dataclass(slots=True)
class MediaRouter:
    """Routes datagrams to watched streams by destination address (sans-I/O)."""

    _by_destination: dict[Address, list[_Watch]] = field(default_factory=dict)
    _by_key: dict[str, _Watch] = field(default_factory=dict)
    _ports: dict[int, int] = field(default_factory=dict)  # port → watches using it

    def watch(self, key: str, destination: Address, since: float) -> None:
        """Start (or move, after a re-INVITE) the stream ``key`` to ``destination``."""
        self.unwatch(key)
        watch = _Watch(key, destination, since)
        self._by_key[key] = watch
        self._by_destination.setdefault(destination, []).append(watch)
        self._ports[destination[1]] = self._ports.get(destination[1], 0) + 1

    def unwatch(self, key: str) -> None:
        watch = self._by_key.pop(key, None)
        if watch is None:
            return
        bucket = self._by_destination[watch.destination]
        bucket.remove(watch)
        if not bucket:
            del self._by_destination[watch.destination]
        port = watch.destination[1]
        self._ports[port] -= 1
        if not self._ports[port]:
            del self._ports[port]

    def addresses(self, key: str) -> tuple[Address, Address | None] | None:
        """Where stream ``key`` is sent, and the source latched on it (None: nothing seen)."""
        watch = self._by_key.get(key)
        return None if watch is None else (watch.destination, watch.source)

    def destinations(self) -> set[Address]:
        """Every address a watched stream is sent to."""
        return set(self._by_destination)

    def watches_port(self, port: int) -> bool:
        """Cheap pre-filter for the packet decoder: is any stream sent to this port?"""
        return port in self._ports

    def route(self, datagram: Datagram) -> str | None:
        """The key of the stream this datagram belongs to, or None (cheap for the rest)."""
        bucket = self._by_destination.get((datagram.dst.ip, datagram.dst.port))
        if not bucket:
            return None
        watch = bucket[-1]  # the newest watch of an address wins (address reuse)
        if datagram.timestamp < watch.since - 1.0:
            return None
        source = (datagram.src.ip, datagram.src.port)
        if watch.source is None:
            watch.source = source
        elif watch.source != source:
            watch.foreign += 1
            return None
        return watch.key

    def __len__(self) -> int:
        return len(self._by_key)
