"""Live capture: tcpdump on loopback with real traffic, and pcap streams through a real pipe.

The tcpdump tests need root and tcpdump (skipped otherwise); they only send UDP to 127.0.0.1,
to a port of a socket bound for the test, and filter on it, so that parallel runs don't mix.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from etykieta.errors import CaptureFormatError, CaptureUnavailableError
from etykieta.telephony.capture.live import LiveCapture, StreamCapture
from etykieta.telephony.capture.pcap_file import (
    PCAP_HEADER_LENGTH,
    PCAP_RECORD_HEADER_LENGTH,
    open_capture,
)
from etykieta.telephony.packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL2,
    CapturedPacket,
    Datagram,
    Endpoint,
    PacketDecoder,
)
from etykieta.telephony.sip import SipMessage

DATA = Path(__file__).parent / "data"
PACKETS = DATA / "packets"
LOOPBACK = "127.0.0.1"
WAIT_S = 3.0  # longest a test waits for packets that were sent

TCPDUMP_MISSING = (
    "needs tcpdump" if shutil.which("tcpdump") is None
    else "tcpdump needs root" if os.geteuid() != 0
    else ""
)
Test = TypeVar("Test", bound=Callable[..., None])


def needs_tcpdump(test: Test) -> Test:
    """A lab test: it runs tcpdump, so it is skipped without tcpdump or root."""
    return pytest.mark.lab(pytest.mark.skipif(bool(TCPDUMP_MISSING), reason=TCPDUMP_MISSING)(test))


def options(call_id: str, port: int) -> bytes:
    """A SIP OPTIONS request as a phone would send it (RFC 3261 §11)."""
    return (
        f"OPTIONS sip:1202@{LOOPBACK}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {LOOPBACK}:5060;branch=z9hG4bK-{call_id}\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:monitor@{LOOPBACK}>;tag=1\r\n"
        f"To: <sip:1202@{LOOPBACK}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def collect(capture: LiveCapture | StreamCapture, count: int,
            tick_s: float = 0.1) -> list[CapturedPacket]:
    """Up to ``count`` packets, waiting at most WAIT_S for them."""
    got: list[CapturedPacket] = []
    deadline = time.monotonic() + WAIT_S
    for item in capture.packets(tick_s):
        if item is not None:
            got.append(item)
        if len(got) == count or time.monotonic() > deadline:
            break
    return got


def datagrams(packets: list[CapturedPacket]) -> list[Datagram]:
    decoder = PacketDecoder()
    decoded = [decoder.decode(p) for p in packets]
    assert all(isinstance(d, Datagram) for d in decoded), decoded
    return [d for d in decoded if isinstance(d, Datagram)]


def assert_reaped(pid: int) -> None:
    """The process has exited and was waited for: it is neither running nor a zombie."""
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    """A bound UDP socket on loopback: the traffic's destination (so no ICMP unreachable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        yield sock


@pytest.fixture
def port(receiver: socket.socket) -> int:
    return int(receiver.getsockname()[1])


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        yield sock


@pytest.fixture
def live(port: int) -> Iterator[LiveCapture]:
    """tcpdump on lo, listening for the test's port only."""
    with LiveCapture("lo", capture_filter=f"udp port {port} and host {LOOPBACK}") as capture:
        yield capture


@needs_tcpdump
@pytest.mark.parametrize("interface", ["lo", "any"])
def test_live_capture_delivers_sent_datagrams_in_order_with_wall_clock_times(
    interface: str, port: int, sender: socket.socket
) -> None:
    payloads = [b"etykieta live %d" % i for i in range(3)] + [options("live-1", port)]
    capture = LiveCapture(interface, capture_filter=f"udp port {port} and host {LOOPBACK}")
    with capture:
        before = time.time()
        for payload in payloads:
            sender.sendto(payload, (LOOPBACK, port))
        packets = collect(capture, len(payloads))
        after = time.time()

    assert capture.name == f"live:{interface}"
    assert capture.command[-5:] == ["262144", "--immediate-mode", "-B", "16384",
                                    capture.capture_filter]
    assert [p.number for p in packets] == [1, 2, 3, 4]
    # tcpdump gives Ethernet frames on lo and Linux cooked v2 frames on any
    linktype = LINKTYPE_ETHERNET if interface == "lo" else LINKTYPE_LINUX_SLL2
    assert {p.linktype for p in packets} == {linktype}
    assert all(before - 0.1 <= p.timestamp <= after + 0.1 for p in packets)
    found = datagrams(packets)
    assert [d.payload for d in found] == payloads
    assert {(d.src, d.dst) for d in found} == {
        (Endpoint(LOOPBACK, sender.getsockname()[1]), Endpoint(LOOPBACK, port))
    }
    assert SipMessage.parse(found[-1].payload).call_id == "live-1"
    assert capture.stats.packets == 4 and capture.stats.dropped_by_monitor == 0
    assert capture.stats.dropped_by_kernel == 0 and capture.stats.errors == []


@needs_tcpdump
def test_packets_yields_none_each_tick_without_traffic(
    live: LiveCapture, sender: socket.socket, port: int
) -> None:
    items = live.packets(tick_s=0.2)
    started = time.monotonic()
    assert next(items) is None
    assert 0.15 <= time.monotonic() - started <= 1.0
    assert next(items) is None
    sender.sendto(b"after two ticks", (LOOPBACK, port))
    packet = next(items)
    assert packet is not None
    assert datagrams([packet])[0].payload == b"after two ticks"


@needs_tcpdump
def test_stop_ends_the_iteration_promptly_and_reaps_tcpdump(
    live: LiveCapture, sender: socket.socket, port: int
) -> None:
    for payload in (b"one", b"two"):
        sender.sendto(payload, (LOOPBACK, port))
    assert len(collect(live, 2)) == 2
    pid = live.pid
    assert pid is not None
    stopper = threading.Timer(0.2, live.stop)
    stopper.start()
    started = time.monotonic()
    rest = list(live.packets(tick_s=10.0))  # a tick this long: only stop() can end it in time
    assert rest == []
    stopper.join()
    assert time.monotonic() - started < 1.5
    assert_reaped(pid)
    assert live.stats.packets == 2
    assert live.stats.dropped_by_kernel == 0  # read from tcpdump's summary as it exited
    assert live.stats.errors == []
    live.stop()  # idempotent
    assert list(live.packets()) == []


@needs_tcpdump
def test_tcpdump_dying_ends_the_iteration_with_an_error(live: LiveCapture) -> None:
    pid = live.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    assert [p for p in live.packets(tick_s=10.0) if p is not None] == []
    assert time.monotonic() - started < 1.5
    assert_reaped(pid)
    assert live.stats.errors == [f"tcpdump exited unexpectedly (status {-signal.SIGKILL})"]
    assert live.stats.dropped_by_kernel is None  # killed: tcpdump printed no summary


@needs_tcpdump
def test_a_full_queue_drops_and_counts_instead_of_blocking_tcpdump(
    port: int, sender: socket.socket
) -> None:
    with LiveCapture("lo", capture_filter=f"udp port {port}", queue_size=2) as capture:
        for i in range(5):
            sender.sendto(b"burst %d" % i, (LOOPBACK, port))
        deadline = time.monotonic() + WAIT_S
        while capture.stats.packets < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        items = capture.packets(tick_s=0.2)
        kept = [next(items), next(items)]
        assert next(items) is None  # the other three never reached the queue
    assert [d.payload for d in datagrams([p for p in kept if p is not None])] == [
        b"burst 0", b"burst 1"
    ]
    assert capture.stats.packets == 5
    assert capture.stats.dropped_by_monitor == 3


def _no_permission_tcpdump(tmp_path: Path) -> str:
    """tcpdump run as nobody through setpriv: the kernel really refuses it the device."""
    setpriv, tcpdump = shutil.which("setpriv"), shutil.which("tcpdump")
    if setpriv is None or tcpdump is None:
        pytest.skip("needs setpriv (util-linux) and tcpdump")
    wrapper = tmp_path / "tcpdump-as-nobody"
    wrapper.write_text(f'#!/bin/sh\nexec {setpriv} --reuid=65534 --regid=65534 --clear-groups '
                       f'{tcpdump} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@needs_tcpdump
@pytest.mark.parametrize(
    ("interface", "capture_filter", "tcpdump", "reason"),
    [
        ("etyk-nosuch0", "", "tcpdump", "etyk-nosuch0: No such device exists"),
        ("lo", "port nonsense and", "tcpdump", "unknown port 'nonsense'"),
        ("lo", "udp and", "tcpdump", "can't parse filter expression: syntax error"),
        ("lo", "", "/nonexistent/tcpdump", "cannot run /nonexistent/tcpdump: No such file"),
        ("lo", "", "as nobody", "lo: You don't have permission to perform this capture"),
    ],
    ids=["no-such-interface", "unknown-port", "filter-syntax", "no-tcpdump", "no-permission"],
)
def test_start_raises_with_tcpdumps_reason_when_it_cannot_capture(
    interface: str, capture_filter: str, tcpdump: str, reason: str, tmp_path: Path
) -> None:
    if tcpdump == "as nobody":
        tcpdump = _no_permission_tcpdump(tmp_path)
    capture = LiveCapture(interface, capture_filter=capture_filter, tcpdump=tcpdump)
    started = time.monotonic()
    with pytest.raises(CaptureUnavailableError) as raised:
        capture.start()
    assert reason in str(raised.value)
    assert "listening" not in str(raised.value)
    assert time.monotonic() - started < 2.0  # tcpdump's failure, not START_TIMEOUT_S, ended it
    if capture.pid is not None:
        assert_reaped(capture.pid)


@needs_tcpdump
@pytest.mark.skipif(shutil.which("sipp") is None, reason="needs sipp (Debian sip-tester)")
def test_a_sipp_call_is_captured_message_by_message() -> None:
    phone, caller = free_udp_port(), free_udp_port()
    sipp = ["timeout", "10", "sipp", "-i", LOOPBACK, "-m", "1", "-nostdin"]
    with LiveCapture("lo", capture_filter=f"udp port {phone} and host {LOOPBACK}") as capture:
        uas = subprocess.Popen([*sipp, "-sn", "uas", "-p", str(phone)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.2)  # sipp has no ready signal; its UDP socket is bound at once
            subprocess.run([*sipp, "-sn", "uac", "-p", str(caller), f"{LOOPBACK}:{phone}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            messages = [SipMessage.parse(d.payload) for d in datagrams(collect(capture, 6))]
        finally:
            uas.kill()  # its scenario ends with a 4 s time-wait
            uas.wait()
    flow = [m.method or m.status_code for m in messages]
    assert flow == ["INVITE", 180, 200, "ACK", "BYE", 200]
    assert len({m.call_id for m in messages}) == 1


def write_slowly(write_fd: int, data: bytes, pieces: int, pause_s: float) -> threading.Thread:
    """A writer thread: ``data`` in ``pieces`` (the first a single byte), pausing half-way."""
    size = -(-len(data) // pieces)
    chunks = [data[:1]] + [data[i : i + size] for i in range(1, len(data), size)]

    def run() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as pipe:
            for number, chunk in enumerate(chunks):
                pipe.write(chunk)
                time.sleep(pause_s if number == len(chunks) // 2 else 0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "path", [PACKETS / "sip_udp_lo.pcap", DATA / "calls" / "b2bua_abandoned.pcap"],
    ids=["pcap", "pcapng"],
)
def test_stream_capture_over_a_pipe_yields_the_files_packets_as_they_come(path: Path) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as stream, StreamCapture(stream, queue_size=1000) as capture:
        writer = write_slowly(write_fd, path.read_bytes(), pieces=12, pause_s=0.5)
        items = list(capture.packets(tick_s=0.2))
        writer.join()
    with open_capture(path) as file:
        expected = list(file)
    assert [p for p in items if p is not None] == expected
    assert None in items  # the writer's pause
    assert capture.name == f"stream:fd{read_fd}"
    assert capture.stats.packets == len(expected)
    assert capture.stats.errors == [] and capture.stats.dropped_by_kernel is None


@pytest.mark.parametrize(
    ("name", "kept", "error"),
    [
        ("sip_udp_lo_be_invalid.pcap", 4, "implausible record length 2147483647 at byte"),
        ("sip_udp_lo_invalid.pcap", None, "truncated record at byte"),
    ],
)
def test_a_damaged_stream_ends_with_errors_not_an_exception(
    name: str, kept: int | None, error: str
) -> None:
    with open_capture(PACKETS / name) as expected:
        packets = list(expected)
    with StreamCapture(io.BytesIO((PACKETS / name).read_bytes())) as capture:
        got = [p for p in capture.packets(tick_s=0.2) if p is not None]
    assert got == packets
    assert kept is None or len(got) == kept
    assert capture.stats.errors == expected.stats.errors
    assert len(capture.stats.errors) == 1 and error in capture.stats.errors[0]


def test_a_stream_that_is_not_a_capture_raises_from_packets() -> None:
    stream = io.BytesIO((PACKETS / "not_a_capture_invalid.pcap").read_bytes())
    with StreamCapture(stream, name="stream:test") as capture:
        assert capture.name == "stream:test"
        with pytest.raises(CaptureFormatError, match="not a pcap or pcapng file"):
            list(capture.packets(tick_s=0.2))


def test_stream_stop_ends_the_iteration_while_the_reader_still_blocks() -> None:
    first_record = PCAP_HEADER_LENGTH + PCAP_RECORD_HEADER_LENGTH + 426
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as stream, os.fdopen(write_fd, "wb", buffering=0) as pipe:
        capture = StreamCapture(stream)
        capture.start()
        pipe.write((PACKETS / "sip_udp_lo.pcap").read_bytes()[:first_record + 100])
        assert len(collect(capture, 1)) == 1
        threading.Timer(0.2, capture.stop).start()
        started = time.monotonic()
        assert list(capture.packets(tick_s=10.0)) == []
        assert time.monotonic() - started < 1.5
        [reader] = [t for t in threading.enumerate() if t.name == f"etykieta {capture.name}"]
        assert reader.daemon and reader.is_alive()  # still in read(): only EOF frees it
        pipe.close()
        reader.join(WAIT_S)
        assert not reader.is_alive()


def test_a_capture_starts_once() -> None:
    capture = StreamCapture(io.BytesIO(b""))
    with pytest.raises(RuntimeError, match="before reading"):
        next(capture.packets())
    capture.start()
    with pytest.raises(RuntimeError, match="already started"):
        capture.start()
    capture.stop()
    with pytest.raises(RuntimeError, match="already stopped"):
        capture.start()


def test_a_stream_waits_for_a_slow_consumer_instead_of_dropping() -> None:
    path = DATA / "calls" / "audio_pcma_greeting.pcap"
    with open_capture(path) as capture:
        expected = [(p.timestamp, bytes(p.data)) for p in capture]
    with path.open("rb") as stream, StreamCapture(stream, queue_size=2) as capture:
        got = []
        for packet in capture.packets(tick_s=0.2):
            if packet is not None:
                got.append((packet.timestamp, bytes(packet.data)))
                if len(got) % 200 == 0:
                    time.sleep(0.05)  # the consumer falls behind now and then
    assert got == expected and capture.stats.dropped_by_monitor == 0
