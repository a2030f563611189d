"""The monitor's SIP journal: what goes in comes back out, across rotation, pruning and crashes."""

from __future__ import annotations

import itertools
import math
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from etykieta.config import Settings
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.journal import Journal
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket
from etykieta.telephony.records import CallRecord

from .conftest import CALLS

REPO = Path(__file__).parent.parent
PCAP_HEADER_LENGTH = 24
RECORD_HEADER_LENGTH = 16
KILLED_AFTER = 500  # packets the child appends and syncs before it is killed
LAP_S = 20.0  # the child appends its capture over and over, this much later each lap

CHILD = """
import itertools
import sys
import time
from dataclasses import replace
from etykieta.telephony.capture.journal import Journal
from etykieta.telephony.capture.pcap_file import open_capture

directory, capture, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_capture(capture) as source:
    packets = list(source)
journal = Journal(directory, flush_s=3600.0)
for packet in packets[:count]:
    journal.append(packet)
journal.sync()
print(f"appended {count}", flush=True)
for packet in packets[count:]:
    journal.append(packet)
for lap in itertools.count(1):  # never synced, appended until the kill lands mid-way
    for packet in packets:
        journal.append(replace(packet, timestamp=packet.timestamp + lap * LAP_S))
""".replace("LAP_S", str(LAP_S))


def capture(name: str) -> list[CapturedPacket]:
    with open_capture(CALLS / name) as source:
        return list(source)


def essence(packets: Iterable[CapturedPacket]) -> list[tuple[float, bytes, int]]:
    return [(p.timestamp, p.data, p.linktype) for p in packets]


def journal_of(directory: Path, packets: Iterable[CapturedPacket], **options: float) -> None:
    with Journal(directory, **options) as journal:
        for packet in packets:
            journal.append(packet)


def replayed(directory: Path) -> tuple[list[CapturedPacket], list[str]]:
    journal = Journal(directory)
    packets = list(journal.replay())
    return packets, journal.problems


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("sip-*.pcap"))


def calls_of(settings: Settings, packets: Iterable[CapturedPacket]) -> list[CallRecord]:
    analyzer = SignallingAnalyzer(settings)
    records = [record for packet in packets for record in analyzer.receive(packet)]
    return records + analyzer.close()


@pytest.mark.parametrize("name", ["proxy_forked.pcap", "transport_sll.pcap", "transport_sll2.pcap",
                                  "transport_fragmented.pcap", "audio_casual.pcap"])
def test_replay_gives_back_every_packet_appended(tmp_path: Path, name: str) -> None:
    packets = capture(name)
    journal_of(tmp_path, packets)
    got, problems = replayed(tmp_path)
    assert essence(got) == essence(packets)
    assert [p.number for p in got] == list(range(1, len(packets) + 1))
    assert problems == []


@pytest.mark.parametrize("name", ["demo_day.pcap", "transfer_attended.pcap", "proxy_forked.pcap",
                                  "transport_tcp.pcap", "b2bua_linkedid.pcap"])
def test_replayed_journal_gives_the_same_calls_as_the_capture(
        tmp_path: Path, lab_settings: Settings, name: str) -> None:
    packets = capture(name)
    journal_of(tmp_path, packets)  # demo_day spans hours: many 60 s segments
    got, _ = replayed(tmp_path)
    want = calls_of(lab_settings, packets)
    assert want
    assert calls_of(lab_settings, got) == want


def test_timestamps_come_back_as_the_same_floats(tmp_path: Path) -> None:
    rng = random.Random(20260525)
    frame = capture("direct_busy.pcap")[0]
    stamps = sorted(rng.uniform(1e7, 2**32 - 2) for _ in range(2000))
    stamps += [1794992400.0, math.nextafter(1794992401.0, 0.0), 2.0**32 - 1]
    packets = [CapturedPacket(i, ts, frame.linktype, frame.data) for i, ts in enumerate(stamps)]
    journal_of(tmp_path, packets, segment_s=1e10)
    got, _ = replayed(tmp_path)
    assert [p.timestamp for p in got] == stamps


def test_timestamps_before_1970_04_are_kept_to_the_nanosecond(tmp_path: Path) -> None:
    frame = capture("direct_busy.pcap")[0]
    stamps = [0.0, 0.1234567891, 0.99999999999, 86400.000000000123]
    journal_of(tmp_path, (CapturedPacket(1, ts, 1, frame.data) for ts in stamps))
    got, _ = replayed(tmp_path)
    assert [p.timestamp for p in got] == pytest.approx(stamps, abs=1e-9)


@pytest.mark.parametrize("timestamp", [-1.0, math.nan, math.inf, 2.0**32])
def test_timestamp_a_pcap_record_cannot_hold_is_refused(tmp_path: Path, timestamp: float) -> None:
    good = capture("direct_busy.pcap")
    with Journal(tmp_path) as journal:
        journal.append(good[0])
        with pytest.raises(ValueError, match="does not fit a pcap record"):
            journal.append(CapturedPacket(2, timestamp, 1, good[1].data))
        journal.append(good[1])
    got, _ = replayed(tmp_path)
    assert essence(got) == essence(good[:2])


def test_segments_rotate_by_packet_time_and_replay_in_order(tmp_path: Path) -> None:
    packets = capture("audio_casual.pcap")  # 16.5 s
    journal_of(tmp_path, packets, segment_s=1.0)
    starts = [packets[0].timestamp]
    for packet in packets:
        if packet.timestamp >= starts[-1] + 1.0:
            starts.append(packet.timestamp)
    files = segments(tmp_path)
    assert len(files) == len(starts) > 5
    previous_end = -math.inf
    for path in files:
        with open_capture(path) as source:
            stamps = [p.timestamp for p in source]
        assert stamps[0] == starts.pop(0)
        assert stamps[0] > previous_end
        assert stamps[-1] < stamps[0] + 1.0
        previous_end = stamps[-1]
    got, _ = replayed(tmp_path)
    assert essence(got) == essence(packets)


def test_link_type_change_starts_a_new_segment(tmp_path: Path) -> None:
    sll, sll2 = capture("transport_sll.pcap"), capture("transport_sll2.pcap")
    assert sll[0].timestamp == sll2[0].timestamp  # so the names would clash
    journal_of(tmp_path, sll + sll2)
    files = segments(tmp_path)
    assert len(files) == 2
    for path, want in zip(files, (sll, sll2), strict=True):
        with open_capture(path) as source:
            assert essence(source) == essence(want)
    got, _ = replayed(tmp_path)
    assert essence(got) == essence(sll + sll2)


@pytest.mark.parametrize("reopened", [False, True], ids=["same_journal", "reopened_journal"])
def test_prune_deletes_only_closed_segments_older_than_keep_since(
        tmp_path: Path, reopened: bool) -> None:
    packets = capture("audio_casual.pcap")
    keep_since = packets[len(packets) // 2].timestamp
    journal = Journal(tmp_path, segment_s=1.0)
    for packet in packets:
        journal.append(packet)
    before = len(segments(tmp_path))
    if reopened:  # the segments of an earlier run are read to find their last packet
        journal.close()
        journal = Journal(tmp_path, segment_s=1.0)
    deleted = journal.prune(keep_since)
    got = list(journal.replay())
    assert deleted == before - len(segments(tmp_path)) > 0
    assert essence(got) == essence(packets[-len(got):])  # a suffix: the older segments went
    assert got[0].timestamp < keep_since  # the segment holding keep_since stays whole
    assert all(p.timestamp < keep_since for p in packets[: len(packets) - len(got)])
    assert journal.problems == []
    journal.close()


def test_prune_never_deletes_the_current_segment(tmp_path: Path) -> None:
    packets = capture("direct_answered_ring5.pcap")  # 24.5 s
    with Journal(tmp_path, segment_s=1.0) as journal:
        for packet in packets:
            journal.append(packet)
        files = segments(tmp_path)
        assert journal.prune(math.inf) == len(files) - 1
        assert segments(tmp_path) == files[-1:]
        assert journal.prune(math.inf) == 0
        current = list(journal.replay())
        assert current and essence(current) == essence(packets[-len(current):])
        journal.append(packets[-1])
    got, _ = replayed(tmp_path)
    assert essence(got) == essence(current + packets[-1:])


def test_replay_stops_quietly_at_a_record_torn_by_a_crash(tmp_path: Path) -> None:
    packets = capture("direct_answered_ring5.pcap")
    journal_of(tmp_path, packets, segment_s=1.0)
    last = segments(tmp_path)[-1]
    os.truncate(last, last.stat().st_size - len(packets[-1].data) // 2)
    got, problems = replayed(tmp_path)
    assert essence(got) == essence(packets[:-1])
    assert len(problems) == 1
    assert problems[0].startswith(f"{last.name}: truncated record at byte ")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not a capture at all, it is a note", "not a pcap or pcapng file"),
        (b"", "capture file is empty"),  # killed between creating the file and its header
        (None, None),  # a real segment holding only its header: nothing to say
    ],
    ids=["garbage", "empty", "header_only"],
)
def test_replay_skips_a_segment_that_is_not_a_capture(
        tmp_path: Path, content: bytes | None, problem: str | None) -> None:
    packets = capture("direct_answered_ring5.pcap")
    journal_of(tmp_path, packets, segment_s=1.0)
    middle = int(segments(tmp_path)[1].stem.removeprefix("sip-")) + 1
    odd = tmp_path / f"sip-{middle:020d}.pcap"
    if content is None:
        header = segments(tmp_path)[0].read_bytes()[:PCAP_HEADER_LENGTH]
        odd.write_bytes(header)
    else:
        odd.write_bytes(content)
    (tmp_path / "notes.txt").write_text("not a segment: never read")
    got, problems = replayed(tmp_path)
    assert essence(got) == essence(packets)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith(f"{odd.name}: skipped: ")
        assert problem in problems[0]


def test_reopened_journal_appends_to_a_new_segment(tmp_path: Path) -> None:
    packets = capture("proxy_forked.pcap")
    half = len(packets) // 2
    journal_of(tmp_path, packets[:half])
    old = {path: path.read_bytes() for path in segments(tmp_path)}
    journal_of(tmp_path, packets[half:])
    assert {path: path.read_bytes() for path in old} == old
    assert len(segments(tmp_path)) == len(old) + 1
    got, problems = replayed(tmp_path)
    assert essence(got) == essence(packets)
    assert problems == []


def test_reopened_journal_replays_in_write_order_after_the_clock_went_back(
        tmp_path: Path) -> None:
    first = capture("direct_answered_ring1.pcap")
    second = [CapturedPacket(p.number, p.timestamp - 3600, p.linktype, p.data) for p in first]
    journal_of(tmp_path, first)
    journal_of(tmp_path, second)
    got, _ = replayed(tmp_path)
    assert essence(got) == essence(first + second)


def test_appended_packets_reach_the_os_within_flush_s(tmp_path: Path) -> None:
    packets = capture("audio_casual.pcap")
    start = packets[0].timestamp
    early = [p for p in packets if p.timestamp < start + 0.2]
    late = packets[len(early)]
    on_disk = PCAP_HEADER_LENGTH + sum(RECORD_HEADER_LENGTH + len(p.data) for p in early)
    with Journal(tmp_path, flush_s=0.2) as journal:
        for packet in early:
            journal.append(packet)
        (path,) = segments(tmp_path)
        assert path.stat().st_size < on_disk  # held back: less than 0.2 s of packet time
        journal.append(late)
        assert path.stat().st_size == on_disk + RECORD_HEADER_LENGTH + len(late.data)
        journal.append(packets[len(early) + 1])
        journal.sync()
        assert essence(Journal(tmp_path).replay()) == essence(packets[: len(early) + 2])


def test_journal_is_private_to_its_owner(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "journal"
    journal_of(directory, capture("direct_busy.pcap"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in segments(directory)} == {0o600}


def test_closed_journal_refuses_packets_and_closes_once(tmp_path: Path) -> None:
    packet = capture("direct_busy.pcap")[0]
    journal = Journal(tmp_path)
    journal.append(packet)
    journal.close()
    journal.close()
    with pytest.raises(ValueError, match="closed journal"):
        journal.append(packet)
    assert essence(journal.replay()) == essence([packet])


def test_packets_synced_before_a_kill_survive_it(tmp_path: Path) -> None:
    packets = capture("audio_casual.pcap")  # 16.5 s, shorter than a lap
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(CALLS / "audio_casual.pcap"),
         str(KILLED_AFTER)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == f"appended {KILLED_AFTER}\n", child.stderr.read() if child.stderr else ""
        time.sleep(0.05)  # let it write on, so the kill lands in the middle of appending
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    got, problems = replayed(tmp_path)
    assert len(got) >= KILLED_AFTER
    laps = itertools.chain.from_iterable(
        (replace(p, timestamp=p.timestamp + lap * LAP_S) for p in packets)
        for lap in itertools.count())
    assert essence(got) == essence(itertools.islice(laps, len(got)))
    assert len(problems) <= 1  # at most the record the kill tore
