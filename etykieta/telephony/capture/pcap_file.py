"""Reads pcap and pcapng capture files as a stream of :class:`CapturedPacket`.

Formats: classic pcap in either byte order with micro- or nanosecond timestamps
(draft-ietf-opsawg-pcap), and pcapng (draft-ietf-opsawg-pcapng): Section Header Blocks of either
byte order, Interface Description Blocks with their ``if_tsresol`` and ``if_tsoffset`` options,
Enhanced, Simple and (obsolete) Packet Blocks; other blocks are skipped. The file is read in large
chunks, never whole. A file that is not a capture raises :class:`CaptureFormatError` when opened;
damage further on ends the iteration quietly and is described in :attr:`CaptureFile.stats`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO

from ...errors import CaptureFormatError
from ..packets import CapturedPacket

PCAP_MAGIC_MICRO = 0xA1B2C3D4
PCAP_MAGIC_NANO = 0xA1B23C4D
PCAP_HEADER_LENGTH = 24
PCAP_RECORD_HEADER_LENGTH = 16
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_IDB = 1
PCAPNG_PB = 2
PCAPNG_SPB = 3
PCAPNG_EPB = 6
OPT_END = 0
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
MAX_PACKET_LENGTH = 262144  # Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD
MAX_BLOCK_LENGTH = 16 * 1024 * 1024
READ_SIZE = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"

_MAGIC = struct.Struct("<I")
_ENDIANS = ("<", ">")
_RECORD = {e: struct.Struct(e + "IIII") for e in _ENDIANS}
_PCAP_LINKTYPE = {e: struct.Struct(e + "20xI") for e in _ENDIANS}
_BLOCK_HEADER = {e: struct.Struct(e + "II") for e in _ENDIANS}
_U32 = {e: struct.Struct(e + "I") for e in _ENDIANS}
_EPB = {e: struct.Struct(e + "8xIIIII") for e in _ENDIANS}
_PB = {e: struct.Struct(e + "8xHHIIII") for e in _ENDIANS}
_IDB = {e: struct.Struct(e + "8xH2xI") for e in _ENDIANS}
_OPTION = {e: struct.Struct(e + "HH") for e in _ENDIANS}
_TSOFFSET = {e: struct.Struct(e + "q") for e in _ENDIANS}


@dataclass(slots=True)
class CaptureStats:
    """What reading a capture yielded, and what in it could not be read."""

    packets: int = 0
    truncated: bool = False  # the file ended inside a record or block
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Interface:
    linktype: int
    snaplen: int
    ticks_per_second: int
    offset: int  # seconds added to every timestamp (if_tsoffset)


class _Reader:
    """A window onto the stream: ``data[pos:]`` are the bytes not yet consumed."""

    __slots__ = ("data", "pos", "base", "_read")

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.data = b""
        self.pos = 0
        self.base = 0  # file offset of data[0]
        self._read = read

    def fill(self, count: int) -> bool:
        """Make ``count`` bytes available from ``pos``; False if the stream ends first."""
        if len(self.data) - self.pos >= count:
            return True
        chunks = [self.data[self.pos :]]
        have = len(chunks[0])
        self.base += self.pos
        self.pos = 0
        while have < count:
            chunk = self._read(max(READ_SIZE, count - have))
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
        self.data = b"".join(chunks)
        return have >= count

    @property
    def offset(self) -> int:
        """The file offset of ``pos``."""
        return self.base + self.pos

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


class CaptureFile:
    """An open capture: iterate it for packets, then read :attr:`stats`.

    Iteration never raises for damage in the file: the packets before it are yielded, then
    iteration stops with ``stats.truncated`` and ``stats.errors`` telling why.
    """

    def __init__(self, stream: BinaryIO, *, owns_stream: bool) -> None:
        self.stats = CaptureStats()
        self._stream = stream
        self._owns_stream = owns_stream
        self._reader = _Reader(getattr(stream, "read1", stream.read))
        if not self._reader.fill(4):
            if self._reader.left == 0:
                raise CaptureFormatError("capture file is empty")
            raise CaptureFormatError(f"capture file too short: {self._reader.left} bytes")
        magic = self._reader.data[:4]
        packets: Iterator[CapturedPacket]
        if _MAGIC.unpack(magic)[0] == PCAPNG_SHB:
            self.format = "pcapng"
            if not self._reader.fill(12):
                raise CaptureFormatError(
                    f"pcapng section header truncated: {self._reader.left} of 12 bytes"
                )
            if not _section_byte_order(self._reader.data[8:12]):
                raise CaptureFormatError(
                    f"bad pcapng byte-order magic 0x{self._reader.data[8:12].hex()} at byte 8"
                )
            packets = self._pcapng_packets()
        else:
            self.format = "pcap"
            packets = self._pcap_packets(self._pcap_header(magic))
        self._packets = packets

    def __iter__(self) -> Iterator[CapturedPacket]:
        return self._packets

    def __enter__(self) -> CaptureFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file if :func:`open_capture` opened it (a stream passed in stays open)."""
        if self._owns_stream:
            self._stream.close()

    def _pcap_header(self, magic: bytes) -> tuple[str, int, int]:
        """Check a classic pcap file header; return (byte order, ticks per second, link type)."""
        for endian in _ENDIANS:
            value = _U32[endian].unpack(magic)[0]
            if value in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
                break
        else:
            hint = " (gzip-compressed: decompress it first)" if magic[:2] == GZIP_MAGIC else ""
            raise CaptureFormatError(
                f"not a pcap or pcapng file: magic 0x{magic.hex()} at byte 0{hint}"
            )
        if not self._reader.fill(PCAP_HEADER_LENGTH):
            raise CaptureFormatError(
                f"pcap file header truncated: {self._reader.left} of {PCAP_HEADER_LENGTH} bytes"
            )
        ticks = 1_000_000_000 if value == PCAP_MAGIC_NANO else 1_000_000
        # The top bits of the link-type field carry FCS information (pcap draft §4).
        linktype = _PCAP_LINKTYPE[endian].unpack_from(self._reader.data)[0] & 0x0FFFFFFF
        self._reader.pos = PCAP_HEADER_LENGTH
        return endian, ticks, linktype

    def _pcap_packets(self, header: tuple[str, int, int]) -> Iterator[CapturedPacket]:
        """Yield the records of a classic pcap file (pcap draft §5)."""
        endian, ticks, linktype = header
        record = _RECORD[endian].unpack_from
        reader = self._reader
        data, pos, number = reader.data, reader.pos, 0
        try:
            while True:
                if len(data) - pos < PCAP_RECORD_HEADER_LENGTH:
                    reader.pos = pos
                    if not reader.fill(PCAP_RECORD_HEADER_LENGTH):
                        if reader.left:
                            self._truncated("record header", reader.offset)
                        return
                    data, pos = reader.data, reader.pos
                seconds, fraction, caplen, _ = record(data, pos)
                if caplen > MAX_PACKET_LENGTH:
                    self.stats.errors.append(
                        f"implausible record length {caplen} at byte {reader.base + pos}"
                    )
                    return
                start = pos + PCAP_RECORD_HEADER_LENGTH
                end = start + caplen
                if end > len(data):
                    reader.pos = pos
                    if not reader.fill(PCAP_RECORD_HEADER_LENGTH + caplen):
                        self._truncated("record", reader.offset)
                        return
                    data, pos = reader.data, reader.pos
                    start = pos + PCAP_RECORD_HEADER_LENGTH
                    end = start + caplen
                number += 1
                yield CapturedPacket(number, seconds + fraction / ticks, linktype, data[start:end])
                pos = end
        finally:
            self.stats.packets = number

    def _pcapng_packets(self) -> Iterator[CapturedPacket]:
        """Yield the packets of a pcapng file, section after section (pcapng draft §4)."""
        reader = self._reader
        endian = "<"
        interfaces: list[_Interface] = []
        number = 0
        timestamp = 0.0  # a Simple Packet Block has none: it inherits the previous packet's
        try:
            while True:
                if not reader.fill(12):
                    if reader.left:
                        self._truncated("block header", reader.offset)
                    return
                data, pos = reader.data, reader.pos
                block_type = _U32[endian].unpack_from(data, pos)[0]
                if block_type == PCAPNG_SHB:
                    endian = _section_byte_order(data[pos + 8 : pos + 12])
                    if not endian:
                        self.stats.errors.append(f"bad byte-order magic at byte {reader.offset}")
                        return
                    interfaces = []
                block_type, length = _BLOCK_HEADER[endian].unpack_from(data, pos)
                if length < 12 or length % 4 or length > MAX_BLOCK_LENGTH:
                    self.stats.errors.append(
                        f"invalid block length {length} at byte {reader.offset}"
                    )
                    return
                if not reader.fill(length):
                    self._truncated("block", reader.offset)
                    return
                data, pos = reader.data, reader.pos
                if _U32[endian].unpack_from(data, pos + length - 4)[0] != length:
                    self.stats.errors.append(f"block length mismatch at byte {reader.offset}")
                    return
                reader.pos = pos + length
                if block_type == PCAPNG_IDB:
                    interfaces.append(_parse_idb(data, pos, length, endian))
                    continue
                packet = self._packet_block(block_type, data, pos, length, endian, interfaces)
                if packet is None:
                    continue
                interface_id, ticks, body, caplen = packet
                if interface_id >= len(interfaces):
                    self.stats.errors.append(
                        f"packet for undeclared interface {interface_id} "
                        f"at byte {reader.base + pos}"
                    )
                    continue
                interface = interfaces[interface_id]
                if ticks is not None:
                    timestamp = ticks / interface.ticks_per_second + interface.offset
                number += 1
                yield CapturedPacket(number, timestamp, interface.linktype,
                                     data[body : body + caplen])
        finally:
            self.stats.packets = number

    def _packet_block(
        self, block_type: int, data: bytes, pos: int, length: int, endian: str,
        interfaces: list[_Interface],
    ) -> tuple[int, int | None, int, int] | None:
        """Return (interface, timestamp ticks, data offset, captured length) of a packet block."""
        if block_type == PCAPNG_EPB:
            interface_id, high, low, caplen, _ = _EPB[endian].unpack_from(data, pos)
            body = pos + 28
        elif block_type == PCAPNG_PB:
            interface_id, _, high, low, caplen, _ = _PB[endian].unpack_from(data, pos)
            body = pos + 28
        elif block_type == PCAPNG_SPB:
            original = _U32[endian].unpack_from(data, pos + 8)[0]
            snaplen = interfaces[0].snaplen if interfaces else 0
            caplen = min(original, length - 16, snaplen or original)
            return 0, None, pos + 12, caplen
        else:
            return None
        if caplen > length - 32:
            self.stats.errors.append(
                f"captured length {caplen} exceeds block at byte {self._reader.base + pos}"
            )
            return None
        return interface_id, (high << 32) | low, body, caplen

    def _truncated(self, what: str, offset: int) -> None:
        self.stats.truncated = True
        self.stats.errors.append(f"truncated {what} at byte {offset}")


def _section_byte_order(magic: bytes) -> str:
    """Return the byte order a Section Header Block's magic declares, or "" if it is bad."""
    for endian in _ENDIANS:
        if _U32[endian].unpack(magic)[0] == PCAPNG_BYTE_ORDER_MAGIC:
            return endian
    return ""


def _parse_idb(data: bytes, pos: int, length: int, endian: str) -> _Interface:
    """Read an Interface Description Block: link type, snap length, timestamp options."""
    linktype, snaplen = _IDB[endian].unpack_from(data, pos)
    ticks, offset = 1_000_000, 0
    option = _OPTION[endian].unpack_from
    cursor, end = pos + 16, pos + length - 4
    while cursor + 4 <= end:
        code, size = option(data, cursor)
        if code == OPT_END:
            break
        value = data[cursor + 4 : cursor + 4 + size]
        if code == OPT_IF_TSRESOL and size == 1:
            exponent = value[0] & 0x7F
            ticks = 2**exponent if value[0] & 0x80 else 10**exponent
        elif code == OPT_IF_TSOFFSET and size == 8:
            offset = _TSOFFSET[endian].unpack(value)[0]
        cursor += 4 + ((size + 3) & ~3)
    return _Interface(linktype, snaplen, ticks, offset)


def open_capture(source: str | os.PathLike[str] | BinaryIO) -> CaptureFile:
    """Open a pcap or pcapng file by path, or read one from a binary stream (such as stdin).

    Raises :class:`CaptureFormatError` if it is empty or not a capture.
    """
    if isinstance(source, str | os.PathLike):
        stream: BinaryIO = open(source, "rb", buffering=0)  # noqa: SIM115 - CaptureFile closes it
        try:
            return CaptureFile(stream, owns_stream=True)
        except BaseException:
            stream.close()
            raise
    return CaptureFile(source, owns_stream=False)
