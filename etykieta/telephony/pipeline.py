"""From captured frames to raw SIP messages: decoding, TCP reassembly and SIP framing together.

SIP is recognised on any port by its start line (RFC 3261 §7), as Wireshark's heuristic does,
unless ``sip_ports`` restricts it. UDP datagrams that are not SIP go to ``on_datagram`` (the RTP
side uses it). Nothing a peer sends makes :meth:`SipExtractor.receive` raise: malformed frames are
counted in :class:`PipelineStats`, with a bounded sample of their errors for the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .packets import (
    CapturedPacket,
    Datagram,
    Endpoint,
    PacketDecoder,
    TcpFlags,
    TcpSegment,
    Transport,
)
from .streams import (
    MAX_SIP_MESSAGE_SIZE,
    SIP_START_BYTES,
    SipStreamFramer,
    StreamKey,
    TcpReassembler,
    looks_like_sip,
)
from .tunnels import VXLAN_FLAGS, VXLAN_UDP_PORT

MAX_MALFORMED_SAMPLES = 100
# First payload bytes worth a closer look in the UDP filter: one set lookup turns RTP away.
_SIP_OR_VXLAN_START = SIP_START_BYTES | {VXLAN_FLAGS}


@dataclass(frozen=True, slots=True)
class RawSipMessage:
    """The bytes of one SIP message and where it travelled; parsing it is ``telephony.sip``'s."""

    number: int  # the packet that completed the message
    timestamp: float
    transport: Transport
    src: Endpoint
    dst: Endpoint
    data: bytes


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """A snapshot of what :class:`SipExtractor` has seen so far."""

    packets: int
    decoded: int  # frames that carried a UDP datagram or a TCP segment
    malformed: int
    malformed_samples: tuple[tuple[int, str], ...]  # (packet number, error), the first ones
    non_ip: int  # frames without IP, also inside a tunnel (ARP through a gretap, ...)
    other_protocol: int  # IP packets that are neither UDP, TCP, SCTP nor a tunnel
    sctp: int  # SCTP packets: "N SCTP packets, SIP over SCTP not supported"
    tunnelled: int  # frames that arrived inside a tunnel (IP-in-IP, GRE, ERSPAN, VXLAN, MPLS)
    fragments_reassembled: int
    fragments_expired: int
    tcp_gaps: int
    sip_messages: int
    sip_oversized: int
    bytes_skipped: int  # stream bytes that were not part of a SIP message
    non_sip_datagrams: int


class SipExtractor:
    """Feeds frames through :class:`PacketDecoder`, TCP reassembly and SIP framing."""

    def __init__(
        self,
        *,
        sip_ports: frozenset[int] | None = None,
        on_datagram: Callable[[Datagram], None] | None = None,
        wants_port: Callable[[int], bool] | None = None,
        decoder: PacketDecoder | None = None,
        reassembler: TcpReassembler | None = None,
        max_message_size: int = MAX_SIP_MESSAGE_SIZE,
        max_malformed_samples: int = MAX_MALFORMED_SAMPLES,
    ) -> None:
        self.sip_ports = sip_ports
        self.on_datagram = on_datagram
        self.max_message_size = max_message_size
        self.max_malformed_samples = max_malformed_samples
        self.wants_port = wants_port
        self._decoder = decoder if decoder is not None else PacketDecoder()
        if on_datagram is None or wants_port is not None:
            self._decoder.udp_filter = self._udp_wanted
        self._tcp = reassembler if reassembler is not None else TcpReassembler()
        self._framers: dict[StreamKey, SipStreamFramer] = {}
        self._packets = 0
        self._malformed: list[tuple[int, str]] = []
        self._malformed_count = 0
        self._sip_messages = 0
        self._non_sip_datagrams = 0
        self._retired_skipped = 0
        self._retired_oversized = 0
        self.signalling = False
        """Whether the last frame was signalling: a SIP datagram, a segment of a SIP stream,
        or an IP fragment (which may be part of one). The live monitor journals those."""

    def receive(self, pkt: CapturedPacket) -> list[RawSipMessage]:
        """Take one frame; return the SIP messages it completed (usually zero or one)."""
        self._packets += 1
        fragments = self._decoder.stats.fragments
        self.signalling = False
        try:
            decoded = self._decoder.decode(pkt)
        except ValueError as exc:
            self._malformed_count += 1
            if len(self._malformed) < self.max_malformed_samples:
                self._malformed.append((pkt.number, str(exc)))
            return []
        if self._decoder.stats.fragments != fragments:
            self.signalling = True
        if decoded is None:
            return []
        if isinstance(decoded, TcpSegment):
            messages = self._segment(decoded)
            self.signalling = bool(messages) or (decoded.src, decoded.dst) in self._framers
            return messages
        if self._on_sip_port(decoded.src, decoded.dst) and looks_like_sip(decoded.payload):
            self.signalling = True
            self._sip_messages += 1
            return [RawSipMessage(decoded.number, decoded.timestamp, Transport.UDP, decoded.src,
                                  decoded.dst, decoded.payload)]
        self._non_sip_datagrams += 1
        if self.on_datagram is not None:
            self.on_datagram(decoded)
        return []

    @property
    def stats(self) -> PipelineStats:
        """The counters so far, as one consistent snapshot."""
        decoder = self._decoder
        live = self._framers.values()
        return PipelineStats(
            packets=self._packets,
            decoded=decoder.stats.decoded,
            malformed=self._malformed_count,
            malformed_samples=tuple(self._malformed),
            non_ip=decoder.stats.non_ip,
            other_protocol=decoder.stats.other_protocol,
            sctp=decoder.stats.sctp,
            tunnelled=decoder.stats.tunnelled,
            fragments_reassembled=decoder.reassembler.reassembled,
            fragments_expired=decoder.reassembler.fragments_expired,
            tcp_gaps=self._tcp.gaps,
            sip_messages=self._sip_messages,
            sip_oversized=self._retired_oversized + sum(f.oversized for f in live),
            bytes_skipped=self._retired_skipped + sum(f.bytes_skipped for f in live),
            non_sip_datagrams=self._non_sip_datagrams,
        )

    def _udp_wanted(self, first: int, sport: int, dport: int) -> bool:
        """Decode a datagram only if it may be SIP, VXLAN or on a port the media side watches.

        VXLAN (RFC 7348, port 4789) may carry either; the decoder filters what is inside it
        again. ``on_datagram`` without ``wants_port`` means every datagram is wanted (no filter).
        """
        if first in _SIP_OR_VXLAN_START:
            if first == VXLAN_FLAGS:
                if dport == VXLAN_UDP_PORT:
                    return True
            elif (ports := self.sip_ports) is None or sport in ports or dport in ports:
                return True
        wants = self.wants_port
        return wants is not None and wants(dport)

    def _on_sip_port(self, src: Endpoint, dst: Endpoint) -> bool:
        ports = self.sip_ports
        return ports is None or src.port in ports or dst.port in ports

    def _segment(self, seg: TcpSegment) -> list[RawSipMessage]:
        """Reassemble a SIP-carrying stream direction and frame its messages.

        Without ``sip_ports`` a direction is followed from its first segment that starts with a
        SIP start line, so that other TCP traffic costs no buffering; with ``sip_ports`` every
        direction on those ports is followed from its SYN (or first segment).
        """
        key = (seg.src, seg.dst)
        framer = self._framers.get(key)
        if framer is None:
            if self.sip_ports is None:
                if not looks_like_sip(seg.payload):
                    return []
            elif not self._on_sip_port(seg.src, seg.dst) or not (
                seg.payload or seg.flags & TcpFlags.SYN
            ):
                return []
            framer = self._framers[key] = SipStreamFramer(self.max_message_size)
        messages: list[RawSipMessage] = []
        for chunk in self._tcp.receive(seg):
            if chunk.gap:
                framer.lose_sync()
            for data in framer.feed(chunk.data):
                messages.append(RawSipMessage(chunk.number, chunk.timestamp, Transport.TCP,
                                              chunk.src, chunk.dst, data))
            if chunk.closed:
                self._retire(key)
        if len(self._framers) > self._tcp.max_streams:
            self._prune_framers()
        self._sip_messages += len(messages)
        return messages

    def _prune_framers(self) -> None:
        """Drop the framers of directions the reassembler no longer tracks (evicted)."""
        for key in [key for key in self._framers if key not in self._tcp]:
            self._retire(key)

    def _retire(self, key: StreamKey) -> None:
        framer = self._framers.pop(key)
        framer.lose_sync()  # an unfinished message at the end of a stream counts as skipped
        self._retired_skipped += framer.bytes_skipped
        self._retired_oversized += framer.oversized
