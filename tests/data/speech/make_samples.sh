#!/usr/bin/env bash
# Regenerates the speech test audio: espeak-ng voices rendered to 8 kHz 16-bit mono WAV, as a
# telephone leg decodes to. Needs espeak-ng and sox. The files are committed; run this only to
# change them (espeak-ng output differs slightly between versions).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

to_8k() { sox "$1" -D -r 8000 -b 16 -c 1 "$2"; }

# Korean (the test model's language): "Hello. This is the Seoul city hall civil service office.
# How can I help you?"
espeak-ng -v ko -w "$tmp/ko.wav" "안녕하세요. 서울 시청 민원실입니다. 무엇을 도와드릴까요?"
to_8k "$tmp/ko.wav" ko_greeting_8k.wav

# Two Korean utterances with 2 s of silence between them: the recognizer's endpointing ends the
# first utterance (an intermediate Result()) before FinalResult().
espeak-ng -v ko -w "$tmp/ko_a.wav" "안녕하세요. 서울 시청입니다."
espeak-ng -v ko -w "$tmp/ko_b.wav" "무엇을 도와드릴까요?"
sox -n -r 22050 -c 1 "$tmp/pause.wav" trim 0 2.0
sox "$tmp/ko_a.wav" "$tmp/pause.wav" "$tmp/ko_b.wav" "$tmp/ko_two.wav"
to_8k "$tmp/ko_two.wav" ko_two_utterances_8k.wav

# The Polish greeting the product listens for (no Polish model here: used for vocabulary checks
# and as the shape of real input).
espeak-ng -v pl -w "$tmp/pl.wav" "Wydział Komunikacji, Anna Kowalska, dzień dobry."
to_8k "$tmp/pl.wav" pl_greeting_8k.wav
