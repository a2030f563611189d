#!/usr/bin/env bash
# Regenerate the lab A captures in tests/data/calls/ (direct_*, transport_*, callback_*,
# demo_*) with sipp + tcpdump on loopback, and check each against its expected file.
#   tests/lab/make_captures.sh                  # all cases (~9 min)
#   tests/lab/make_captures.sh direct_busy transport_   # cases by name or prefix
#   tests/lab/make_captures.sh --list | --check
# Needs root (tcpdump, ip netns), sipp (Debian sip-tester), tcpdump, tshark/editcap/mergecap.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$here/lab.py" "$@"
