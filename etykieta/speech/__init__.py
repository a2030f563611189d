"""Speech: the answering employee's RTP audio, its transcripts, and the greeting verdict.

Three rooms: ``audio`` (RTP → PCM windows, and reading them again from capture files),
``greeting`` (the pure verdict of rules T1, T2, T9 and T10, and what the audio alone decides)
and ``engine`` (the Vosk adapters: recognizer, worker processes, model config). Nothing here
touches the database or reads the clock — the queue lives in `etykieta.storage.speech_queue`
and the runner in `etykieta.monitor.speech` — and nothing loads a model at import time.
"""
