"""IP fragment reassembly (RFC 791 §3.2, RFC 815; RFC 8200 §4.5) for the packet decoder."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

FRAGMENT_TIMEOUT = 30.0  # seconds; RFC 791 suggests 15 s, Linux uses 30 s
MAX_PENDING_FRAGMENT_SETS = 1024
MAX_PENDING_FRAGMENT_BYTES = 8 * 1024 * 1024
IPV4_MAX_LENGTH = 65535

FragmentKey = tuple[bytes, bytes, int, int]


@dataclass(slots=True)
class _PendingFragments:
    first_seen: float
    pieces: list[tuple[int, bytes]] = field(default_factory=list)
    total: int | None = None  # payload length, known once the last fragment (MF=0) is seen
    size: int = 0


class FragmentReassembler:
    """Reassembles IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5) fragments.

    Fragments are keyed by (source, destination, identification, protocol). They may arrive in
    any order; overlapping fragments are tolerated (the later copy wins). A set that is not
    complete ``timeout`` seconds after its first fragment is dropped, judged by packet time; so
    is the oldest set when more than ``max_sets`` sets or ``max_bytes`` bytes are pending.
    ``fragments_expired`` counts the fragments thrown away this way.
    """

    def __init__(
        self,
        timeout: float = FRAGMENT_TIMEOUT,
        max_sets: int = MAX_PENDING_FRAGMENT_SETS,
        max_bytes: int = MAX_PENDING_FRAGMENT_BYTES,
    ) -> None:
        self.timeout = timeout
        self.max_sets = max_sets
        self.max_bytes = max_bytes
        self.reassembled = 0
        self.fragments_expired = 0
        self._pending: OrderedDict[FragmentKey, _PendingFragments] = OrderedDict()
        self._bytes = 0

    @property
    def pending(self) -> int:
        """The number of incomplete fragment sets held."""
        return len(self._pending)

    def add(
        self, key: FragmentKey, offset: int, more: bool, data: bytes, now: float
    ) -> bytes | None:
        """Store one fragment; return the whole payload once the set is complete."""
        end = offset + len(data)
        if end > IPV4_MAX_LENGTH:
            raise ValueError(f"fragment ends at byte {end}, beyond {IPV4_MAX_LENGTH}")
        self.expire(now)
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = _PendingFragments(now)
        entry.pieces.append((offset, data))
        entry.size += len(data)
        self._bytes += len(data)
        if not more:
            entry.total = end
        if entry.total is not None and _covers(entry.pieces, entry.total):
            del self._pending[key]
            self._bytes -= entry.size
            self.reassembled += 1
            payload = bytearray(entry.total)
            for piece_offset, piece in entry.pieces:
                payload[piece_offset : piece_offset + len(piece)] = piece
            return bytes(payload[: entry.total])
        while len(self._pending) > self.max_sets or self._bytes > self.max_bytes:
            self._drop_oldest()
        return None

    def expire(self, now: float) -> None:
        """Drop the sets whose first fragment is more than ``timeout`` seconds old."""
        pending = self._pending
        while pending and next(iter(pending.values())).first_seen + self.timeout < now:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        _, entry = self._pending.popitem(last=False)
        self._bytes -= entry.size
        self.fragments_expired += len(entry.pieces)


def _covers(pieces: list[tuple[int, bytes]], total: int) -> bool:
    reached = 0
    for offset, data in sorted(pieces, key=lambda piece: piece[0]):
        if offset > reached:
            return False
        reached = max(reached, offset + len(data))
    return reached >= total
