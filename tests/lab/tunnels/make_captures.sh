#!/usr/bin/env bash
# Regenerate the tunnel and IPv6/SCTP captures in tests/data/calls/ (tunnel_*, ipv6_*,
# sctp_unsupported) and check each with tshark.
#   tests/lab/tunnels/make_captures.sh [CASE ...] | --list | --check
# Needs root (tcpdump, ip netns), sipp, tcpdump, tshark/editcap; see make_captures.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$here/make_captures.py" "$@"
