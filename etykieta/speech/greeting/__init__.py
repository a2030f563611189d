"""The greeting verdict (pure): transcripts in, ``complete``/``partial``/… out (T1, T2, T9, T10).

``transcript`` holds the recogniser's words (Vosk's JSON shape), ``polish`` the Polish text
helpers (folding, inflection-tolerant matching, syllables), ``match`` the matchers of each
element and ``verdict`` the checker itself. No clock and no model: the time a verdict is stored
at is the caller's business.
"""
