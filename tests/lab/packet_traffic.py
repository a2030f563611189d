"""Send the SIP/RTP traffic that make_packet_fixtures.sh captures.

Only ever addresses loopback or the namespaces the script creates; every loop is bounded.
Usage: packet_traffic.py udp-call HOST | tcp-sip HOST | big-udp HOST SIZE | tun-vlan HOST IFACE
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import sys
import time

CALL_ID = "fixture-{}@etykieta.test"


def sip_request(method: str, host: str, call_id: str, body: str = "", cseq: int = 1) -> bytes:
    """A minimal but well-formed SIP request (RFC 3261 §8.1.1)."""
    lines = [
        f"{method} sip:200@{host} SIP/2.0",
        f"Via: SIP/2.0/UDP {host}:5062;branch=z9hG4bK-{method.lower()}-{cseq}",
        "Max-Forwards: 70",
        f"From: <sip:100@{host}>;tag=a1",
        f"To: <sip:200@{host}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Content-Length: {len(body)}",
    ]
    if body:
        lines.insert(-1, "Content-Type: application/sdp")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sip_response(code: int, reason: str, host: str, call_id: str, method: str = "INVITE") -> bytes:
    """A SIP response with the compact Content-Length form "l" (RFC 3261 §7.3.3)."""
    return (
        f"SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP {host}:5062;branch=z9hG4bK-1\r\n"
        f"From: <sip:100@{host}>;tag=a1\r\nTo: <sip:200@{host}>;tag=b2\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nl: 0\r\n\r\n"
    ).encode()


def sdp(host: str, extra: int = 0) -> str:
    """An SDP offer (RFC 4566), padded with ``a=`` lines to ``extra`` more bytes."""
    family = "IP6" if ":" in host else "IP4"
    body = (
        f"v=0\r\no=- 1 1 IN {family} {host}\r\ns=-\r\nc=IN {family} {host}\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
    )
    while extra > 0:
        line = "a=x-padding:" + "p" * min(70, extra) + "\r\n"
        body += line
        extra -= len(line)
    return body


def udp_call(host: str) -> None:
    """INVITE/180/200/ACK, ten RTP packets, a CRLF keep-alive, BYE/200 over UDP."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    caller = socket.socket(family, socket.SOCK_DGRAM)
    callee = socket.socket(family, socket.SOCK_DGRAM)
    caller.bind((host, 5062))
    callee.bind((host, 5060))
    rtp = socket.socket(family, socket.SOCK_DGRAM)
    call_id = CALL_ID.format("udp")
    a, b = (host, 5062), (host, 5060)
    caller.sendto(sip_request("INVITE", host, call_id, sdp(host)), b)
    callee.sendto(sip_response(180, "Ringing", host, call_id), a)
    callee.sendto(sip_response(200, "OK", host, call_id), a)
    caller.sendto(sip_request("ACK", host, call_id), b)
    for seq in range(10):  # RTP (RFC 3550 §5.1): V=2, PT=8, 160 bytes of A-law silence
        header = bytes([0x80, 0x08]) + seq.to_bytes(2, "big") + (seq * 160).to_bytes(4, "big")
        rtp.sendto(header + b"\x12\x34\x56\x78" + b"\xd5" * 160, (host, 40000))
        time.sleep(0.02)
    caller.sendto(b"\r\n\r\n", b)
    caller.sendto(sip_request("BYE", host, call_id, cseq=2), b)
    callee.sendto(sip_response(200, "OK", host, call_id, "BYE"), a)
    for sock in (caller, callee, rtp):
        sock.close()


def tcp_sip(host: str) -> None:
    """SIP over one TCP connection, framed every way a stream allows (RFC 3261 §18.3).

    The client leaves its IPv6 connection with unread data, so that one ends with a RST.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, 5060))
    server.listen(1)
    client = socket.create_connection((host, 5060), timeout=5)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer, _ = server.accept()
    call_id = CALL_ID.format("tcp")
    client.sendall(sip_request("INVITE", host, call_id, sdp(host)))  # one message, one segment
    time.sleep(0.05)
    peer.sendall(sip_response(100, "Trying", host, call_id)
                 + sip_response(200, "OK", host, call_id))  # two messages, one segment
    time.sleep(0.05)
    ack = sip_request("ACK", host, call_id)
    for part in (ack[:30], ack[30:90], ack[90:]):  # one message, three segments
        client.sendall(part)
        time.sleep(0.05)
    client.sendall(b"\r\n\r\n")  # keep-alive ping (RFC 5626 §3.5.1)
    time.sleep(0.05)
    bye = sip_request("BYE", host, call_id, cseq=2)
    client.sendall(bye)
    time.sleep(0.05)
    peer.sendall(sip_response(200, "OK", host, call_id, "BYE"))
    time.sleep(0.05)
    if family == socket.AF_INET:  # read what arrived, so close() sends FIN; on IPv6 it is RST
        client.recv(65536)
    client.close()
    time.sleep(0.05)
    peer.close()
    server.close()


def big_udp(host: str, size: int) -> None:
    """One SIP INVITE whose SDP makes it ``size`` bytes, so that IP fragments it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    call_id = CALL_ID.format("big")
    message = sip_request("INVITE", host, call_id, sdp(host))
    message = sip_request("INVITE", host, call_id, sdp(host, size - len(message)))
    sock.sendto(message, (host, 5060))
    sock.close()


TUNSETIFF = 0x400454CA
IFF_TUN_NO_PI = 0x0001 | 0x1000
VLAN_TAGS = (b"\x81\x00\x00\x64", b"\x88\xa8\x00\xc8\x81\x00\x01\x2c")  # 100; 200+300


def tun_vlan(host: str, iface: str) -> None:
    """Send SIP to ``host`` through the tun device tun0, then put each IP packet the kernel
    wrote there on ``iface`` in an Ethernet frame with an 802.1Q tag (VLAN 100), then with an
    802.1ad S-tag 200 and an 802.1Q C-tag 300 (QinQ): no VLAN driver needed."""
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN_NO_PI))
    os.set_blocking(tun, False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for tag in range(len(VLAN_TAGS)):
        sock.sendto(sip_request("OPTIONS", host, CALL_ID.format(f"vlan{tag}")), (host, 5060))
    time.sleep(0.2)
    packets = []
    for _ in range(100):
        try:
            packet = os.read(tun, 65535)
        except BlockingIOError:
            break
        if packet[0] >> 4 == 4 and packet[9] == socket.IPPROTO_UDP:
            packets.append(packet)
    link = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    link.bind((iface, 0))
    mac = b"\x02\x00\x00\x00\x00"
    for packet, tags in zip(packets, VLAN_TAGS, strict=True):
        link.send(mac + b"\x02" + mac + b"\x01" + tags + b"\x08\x00" + packet)
    for handle in (sock, link):
        handle.close()
    os.close(tun)


def main(argv: list[str]) -> None:
    command, host = argv[0], argv[1]
    if command == "udp-call":
        udp_call(host)
    elif command == "tcp-sip":
        tcp_sip(host)
    elif command == "tun-vlan":
        tun_vlan(host, argv[2])
    elif command == "big-udp":
        big_udp(host, int(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
