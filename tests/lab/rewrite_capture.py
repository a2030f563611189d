"""Rewrite a real little-endian capture into a format no local tool writes.

make_packet_fixtures.sh uses it to get big-endian files, BSD loopback / raw-IP link types and
pcapng Simple and obsolete Packet Blocks out of captures tcpdump took. Independent of the
reader under test on purpose.

Usage:
  rewrite_capture.py be-pcap IN OUT              classic pcap, byte-swapped
  rewrite_capture.py link IN OUT null|loop|raw   classic Ethernet pcap, link layer replaced
  rewrite_capture.py be-pcapng IN OUT            pcapng, byte-swapped (keeps only if_tsresol)
  rewrite_capture.py spb-pb IN OUT               pcapng, EPBs alternately as SPB and PB
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator

LINKTYPES = {"null": 0, "loop": 108, "raw": 101}
AF = {0x0800: 2, 0x86DD: 24}  # BSD AF_INET, AF_INET6 (NetBSD/OpenBSD value)


def pcap_records(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        yield data[pos : pos + 16], data[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen


def be_pcap(data: bytes) -> bytes:
    header = struct.pack(">IHHiIII", *struct.unpack_from("<IHHiIII", data))
    out = [header]
    for record, frame in pcap_records(data):
        out += [struct.pack(">IIII", *struct.unpack("<IIII", record)), frame]
    return b"".join(out)


def relink(data: bytes, kind: str) -> bytes:
    out = [data[:20] + struct.pack("<I", LINKTYPES[kind])]
    for record, frame in pcap_records(data):
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        if ethertype not in AF:
            continue
        if kind == "null":  # host byte order: this "host" is little-endian
            frame = struct.pack("<I", AF[ethertype]) + frame[14:]
        elif kind == "loop":
            frame = struct.pack("!I", AF[ethertype]) + frame[14:]
        else:
            frame = frame[14:]
        seconds, fraction, _, _ = struct.unpack("<IIII", record)
        out += [struct.pack("<IIII", seconds, fraction, len(frame), len(frame)), frame]
    return b"".join(out)


def blocks(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 12 <= len(data):
        kind, length = struct.unpack_from("<II", data, pos)
        yield kind, data[pos + 8 : pos + length - 4]
        pos += length


def block(kind: int, body: bytes, endian: str) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(endian + "II", kind, length) + body + struct.pack(endian + "I", length)


def tsresol_option(options: bytes) -> bytes:
    pos = 0
    while pos + 4 <= len(options):
        code, size = struct.unpack_from("<HH", options, pos)
        if code == 9:
            return struct.pack(">HH", 9, 1) + options[pos + 4 : pos + 5] + b"\0\0\0" + b"\0" * 4
        pos += 4 + size + (-size % 4)
    return b""


def be_pcapng(data: bytes) -> bytes:
    out = []
    for kind, body in blocks(data):
        if kind == 0x0A0D0D0A:
            fields = struct.unpack_from("<IHHq", body)
            out.append(block(kind, struct.pack(">IHHq", *fields), ">"))
        elif kind == 1:
            linktype, _, snaplen = struct.unpack_from("<HHI", body)
            options = tsresol_option(body[8:])
            out.append(block(kind, struct.pack(">HHI", linktype, 0, snaplen) + options, ">"))
        elif kind == 6:
            fields = struct.unpack_from("<IIIII", body)
            frame = body[20 : 20 + fields[3]]
            out.append(block(kind, struct.pack(">IIIII", *fields) + frame, ">"))
    return b"".join(out)


def spb_pb(data: bytes) -> bytes:
    out = []
    for index, (kind, body) in enumerate(blocks(data)):
        if kind != 6:
            out.append(block(kind, body, "<"))
            continue
        interface, high, low, caplen, original = struct.unpack_from("<IIIII", body)
        frame = body[20 : 20 + caplen]
        if index % 2:
            out.append(block(3, struct.pack("<I", caplen) + frame, "<"))
        else:
            fields = (interface, 0, high, low, caplen, original)
            out.append(block(2, struct.pack("<HHIIII", *fields) + frame, "<"))
    return b"".join(out)


def main(argv: list[str]) -> None:
    command, source, target = argv[:3]
    with open(source, "rb") as f:
        data = f.read()
    if command == "be-pcap":
        result = be_pcap(data)
    elif command == "link":
        result = relink(data, argv[3])
    elif command == "be-pcapng":
        result = be_pcapng(data)
    elif command == "spb-pb":
        result = spb_pb(data)
    else:
        raise SystemExit(__doc__)
    with open(target, "wb") as f:
        f.write(result)


if __name__ == "__main__":
    main(sys.argv[1:])
