#!/usr/bin/env bash
# Install the Debian packages Etykieta needs. `python`: what `make demo` needs (a Python with
# venv); `test`: also the real SIP stacks and capture tools the test suite drives.
# As root it installs what is missing; otherwise it prints the exact apt-get line and fails.
set -euo pipefail
python_pkgs=(python3 python3-venv python3-dev fonts-dejavu-core)  # fonts: the e-mails' chart
test_pkgs=(sip-tester tcpdump tshark kamailio iproute2 postgresql sox espeak-ng
           chromium chromium-driver)  # the web application in a real browser (Playwright)
case "${1:-test}" in
  python) want=("${python_pkgs[@]}") ;;
  test) want=("${python_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 python|test" >&2; exit 2 ;;
esac
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# a Python that already has venv (pyenv, a distro Python) is enough for the python set
if [ "${1:-test}" = python ] && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=()
fi
[ ${#missing[@]} -eq 0 ] && exit 0
line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Etykieta needs these Debian packages; as root, run:" >&2
  echo "  $line" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
