#!/usr/bin/env bash
# Regenerate the audio lab's captures (tests/data/calls/audio_*) with sipp rtp_stream + tcpdump
# on loopback, then check each against its expected file with tshark.
#   tests/lab/audio/make_captures.sh                  # all cases (~2 min)
#   tests/lab/audio/make_captures.sh audio_silent     # cases by name or prefix
#   tests/lab/audio/make_captures.sh --list | --check | --sources
# Needs root (tcpdump, ip netns, tc), sipp (Debian sip-tester 3.6), tcpdump, tshark/editcap,
# espeak-ng and sox. Loopback only: 127.0.4.0/24, SIP 26000-26999, RTP 30000-30999.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec timeout 900 python3 "$here/audio_lab.py" "$@"
