"""Speech: RTP audio of the answering employee, its transcripts, and the greeting verdict.

``transcript`` holds the recogniser's words (Vosk's JSON shape), ``polish`` the crude but tested
Polish text helpers (folding, inflection-tolerant word matching, syllables), and ``greeting`` the
pure checker of rules T1, T2, T9 and T10. Nothing here loads a model at import time.
"""
