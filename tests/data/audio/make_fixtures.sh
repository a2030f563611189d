#!/usr/bin/env bash
# Remake the audio fixtures of tests/test_codecs.py, test_audio.py and test_vad.py.
# Needs espeak-ng and sox (Debian packages `espeak-ng`, `sox`). Idempotent; run from anywhere.
#   greeting_8k.wav      espeak-ng's Polish voice, resampled to 8 kHz 16-bit mono (source of truth)
#   greeting_16k.wav     the same at 16 kHz, for the G.722 round trip
#   greeting.al / .ul    greeting_8k.wav encoded by sox without dither (-D): byte-exact G.711
#   g711_alaw_all_codes.sox.s16 / g711_ulaw_all_codes.sox.s16
#                        sox's decoding of the 256 codes 0x00..0xff, little-endian int16
#   noise_vol001_8k.wav  2 s of white noise at sox volume 0.01 (must be judged silent)
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v pl -w "$tmp/greeting.wav" "Wydział Komunikacji, Anna Kowalska, dzień dobry"
sox -D "$tmp/greeting.wav" -r 8000 -c 1 -b 16 -e signed-integer greeting_8k.wav
sox -D "$tmp/greeting.wav" -r 16000 -c 1 -b 16 -e signed-integer greeting_16k.wav
sox -D greeting_8k.wav -t al greeting.al
sox -D greeting_8k.wav -t ul greeting.ul
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' > "$tmp/codes"
sox -D -t al -r 8000 -c 1 "$tmp/codes" -t s16 -e signed-integer -L g711_alaw_all_codes.sox.s16
sox -D -t ul -r 8000 -c 1 "$tmp/codes" -t s16 -e signed-integer -L g711_ulaw_all_codes.sox.s16
sox -D -R -n -r 8000 -c 1 -b 16 -e signed-integer noise_vol001_8k.wav synth 2 whitenoise vol 0.01
