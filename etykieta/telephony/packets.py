"""Captured frames: the boundary between capture adapters and the sans-I/O core."""

from __future__ import annotations

from dataclasses import dataclass

# pcap LINKTYPE_* values (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0  # BSD loopback
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108  # OpenBSD loopback
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """One frame as a capture adapter saw it: its number, time and link-layer bytes."""

    number: int  # 1-based position in the source (frame number in Wireshark)
    timestamp: float  # seconds since the Unix epoch, UTC
    linktype: int  # a LINKTYPE_* value
    data: bytes
