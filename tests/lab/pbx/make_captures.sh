#!/usr/bin/env bash
# Regenerate the PBX lab's captures (proxy_*, b2bua_*, transfer_*) into tests/data/calls/,
# then re-check each against its expected-facts file. Arguments: case names (default: all).
# Needs: sipp (sip-tester), tcpdump, tshark/editcap, kamailio, and `sippy` in the repo's .venv.
# Run as root (tcpdump on lo). Loopback only: 127.0.2.0/23, UDP ports 25000-25999.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
python="$repo/.venv/bin/python"
"$python" -c 'import sippy' 2>/dev/null || { echo "pip install sippy into $repo/.venv first" >&2; exit 1; }
timeout 900 "$python" "$here/cases.py" "$@"
"$python" "$here/cases.py" --check "$@"
