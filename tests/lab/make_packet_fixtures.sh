#!/usr/bin/env bash
# Regenerate tests/data/packets/: real captures taken with tcpdump in network namespaces this
# script creates (and removes), on loopback or on veth pairs between them, never anywhere else.
# Needs root, iproute2, tcpdump, editcap (wireshark-common). Usage: make_packet_fixtures.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$HERE/../data/packets"
OUT=$(cd "$HERE/../data/packets" && pwd)
TRAFFIC="python3 $HERE/packet_traffic.py"
REWRITE="python3 $HERE/rewrite_capture.py"
A=ety-fx-a
B=ety-fx-b
TMP=$(mktemp -d)

remove_namespaces() {
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
}
trap 'remove_namespaces; rm -rf "$TMP"' EXIT

in_a() { ip netns exec "$A" "$@"; }
in_b() { ip netns exec "$B" "$@"; }

# capture NAME IFACE [tcpdump options...] -- COMMAND...: tcpdump in namespace A around COMMAND.
capture() {
    local name=$1 iface=$2
    shift 2
    local opts=()
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    ip netns exec "$A" tcpdump -i "$iface" --immediate-mode -U -s 0 "${opts[@]}" -w "$TMP/$name" 2>"$TMP/$name.log" &
    local pid=$!
    sleep 1
    "$@"
    sleep 1.5
    kill -INT "$pid"
    wait "$pid" || true
}

remove_namespaces
ip netns add "$A"
ip netns add "$B"
in_a ip link set lo up
in_b ip link set lo up
in_a ip link add veth-a type veth peer name veth-b
in_a ip link set veth-b netns "$B"
for ns in "$A" "$B"; do
    side=${ns##*-}
    ip -n "$ns" link set "veth-$side" up mtu 1280
done
in_a ip addr add 192.0.2.1/24 dev veth-a
in_b ip addr add 192.0.2.2/24 dev veth-b
in_a ip -6 addr add 2001:db8::1/64 dev veth-a nodad
in_b ip -6 addr add 2001:db8::2/64 dev veth-b nodad
# A tun device: Linux hands tcpdump its packets as raw IP (LINKTYPE_RAW). This sandbox's kernel
# has no VLAN driver, so tagged frames are the tun's real IP packets put on the veth with tags.
in_a ip tuntap add dev tun0 mode tun
in_a ip addr add 10.99.0.1/30 dev tun0
in_a ip link set tun0 up
sleep 1

udp_calls() {
    in_a $TRAFFIC udp-call 127.0.0.1
    in_a $TRAFFIC udp-call ::1
}
tcp_sessions() {
    in_a $TRAFFIC tcp-sip 127.0.0.1
    in_a $TRAFFIC tcp-sip ::1
}
tagged() {
    capture sip_udp_raw.pcap tun0 -- in_a $TRAFFIC tun-vlan 10.99.0.2 veth-a
}
fragmented() {
    in_a $TRAFFIC big-udp 192.0.2.2 3000
    in_a $TRAFFIC big-udp 2001:db8::2 3000
}

# UDP calls on loopback, IPv4 and IPv6: Ethernet, microseconds.
capture sip_udp_lo.pcap lo -- udp_calls
# A call with nanosecond timestamps, and with Linux cooked headers v1 and v2.
capture sip_udp_lo_nsec.pcap lo --time-stamp-precision=nano -- in_a $TRAFFIC udp-call 127.0.0.1
capture sip_udp_sll.pcap any -y LINUX_SLL -- in_a $TRAFFIC udp-call 127.0.0.1
capture sip_udp_sll2.pcap any -y LINUX_SLL2 -- in_a $TRAFFIC udp-call ::1
# SIP over TCP, IPv4 then IPv6, framed every way a stream allows.
capture sip_tcp_lo.pcap lo -- tcp_sessions
# Raw IP on the tun, and the same packets tagged 802.1Q (VLAN 100) and QinQ (802.1ad 200 +
# 802.1Q 300) on the veth.
capture sip_udp_vlan.pcap veth-a -- tagged
# A 3000-byte INVITE over a 1280-byte MTU: IPv4 and IPv6 fragments (and ICMP port unreachable).
capture sip_udp_fragments.pcap veth-a -- fragmented

cp "$TMP"/*.pcap "$OUT/"
cd "$OUT"
# Formats no local tool writes, rewritten from the real captures above.
$REWRITE be-pcap sip_udp_lo.pcap sip_udp_lo_be.pcap
$REWRITE link sip_udp_lo.pcap sip_udp_null.pcap null
$REWRITE link sip_udp_lo.pcap sip_udp_loop.pcap loop
editcap -F pcapng sip_tcp_lo.pcap sip_tcp_lo.pcapng
editcap -F pcapng sip_udp_lo_nsec.pcap sip_udp_lo_nsec.pcapng
$REWRITE be-pcapng sip_udp_lo_nsec.pcapng sip_udp_lo_nsec_be.pcapng
$REWRITE spb-pb sip_tcp_lo.pcapng sip_tcp_spb_pb.pcapng
editcap -F pcapng sip_udp_sll2.pcap "$TMP/sll2.pcapng"
cat sip_tcp_lo.pcapng "$TMP/sll2.pcapng" > sip_two_sections.pcapng
rm sip_tcp_lo.pcap sip_udp_lo_nsec.pcap

# Invalid twins: truncated mid-record, a corrupted length, packets lost on the way.
size() { stat -c %s "$1"; }
head -c $(( $(size sip_udp_lo.pcap) - 50 )) sip_udp_lo.pcap > sip_udp_lo_invalid.pcap
head -c $(( $(size sip_tcp_lo.pcapng) - 50 )) sip_tcp_lo.pcapng > sip_tcp_lo_invalid.pcapng
python3 - <<'EOF'
# A record length of 0x7fffffff in the fifth record of a pcap, a block length of 13 in the
# seventh block of a pcapng: the reader must stop there and say so.
import struct
data = bytearray(open("sip_udp_lo_be.pcap", "rb").read())
pos = 24
for _ in range(4):
    pos += 16 + struct.unpack_from(">I", data, pos + 8)[0]
struct.pack_into(">I", data, pos + 8, 0x7FFFFFFF)
open("sip_udp_lo_be_invalid.pcap", "wb").write(data)
data = bytearray(open("sip_udp_lo_nsec_be.pcapng", "rb").read())
pos = 0
for _ in range(6):
    pos += struct.unpack_from(">I", data, pos + 4)[0]
struct.pack_into(">I", data, pos + 4, 13)
open("sip_udp_lo_nsec_be_invalid.pcapng", "wb").write(data)
EOF
# Lost packets: the second IPv4 fragment, and the middle part of the split ACK on TCP.
second=$(tshark -r sip_udp_fragments.pcap -Y 'ip.frag_offset > 0 && ip.flags.mf == 1' \
    -T fields -e frame.number | head -1)
editcap -F pcap sip_udp_fragments.pcap sip_udp_fragments_invalid.pcap "$second"
ack_middle=$(tshark -r sip_tcp_lo.pcapng -Y 'tcp.len == 60' -T fields -e frame.number | head -1)
editcap sip_tcp_lo.pcapng sip_tcp_lo_gap_invalid.pcapng "$ack_middle"
printf 'INVITE sip:200@example.test SIP/2.0\r\n' > not_a_capture_invalid.pcap
ls -l "$OUT"
