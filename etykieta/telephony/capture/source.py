"""What the monitor needs of a live packet source, and counters any source can fill.

:class:`~.live.LiveCapture` (tcpdump on an interface) and :class:`~.live.StreamCapture` (a pcap
byte stream) implement :class:`PacketSource`; a HEP listener would too. Their own counters
stay theirs (tcpdump's summary, a HEP agent's sequence gaps); :class:`SourceStats` is what
every source can say about loss: what it read, what was lost before it could read it (and by
whom), and what it dropped because its consumer fell behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from ..packets import CapturedPacket


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What a packet source delivered and where packets were lost, as one snapshot."""

    upstream: str
    """Who loses packets before the source reads them, as the monitor's line names it:
    "the kernel" for tcpdump, "the sender" for a HEP agent."""
    packets: int = 0  # read by the source, dropped_behind included
    dropped_upstream: int | None = None  # lost by ``upstream``; None while it is not known
    dropped_behind: int = 0  # read while the consumer was behind, and dropped
    errors: tuple[str, ...] = ()  # why the source was damaged or ended early


class PacketSource(Protocol):
    """A live source of captured frames for the monitor.

    ``packets`` yields frames as they arrive and ``None`` after each ``tick_s`` without one,
    so that the caller can run the sans-I/O core's timers; it ends when the source ends or
    ``stop`` is called.
    """

    @property
    def name(self) -> str:
        """What the source reads, for logs and as the capture's path in storage."""
        ...

    def start(self) -> None: ...

    def packets(self, tick_s: float = 1.0) -> Iterator[CapturedPacket | None]: ...

    def stop(self) -> None: ...

    def source_stats(self) -> SourceStats:
        """The counters so far, as one snapshot."""
        ...
