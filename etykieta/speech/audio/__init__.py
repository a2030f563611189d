"""The answering employee's RTP → PCM windows (pure: datagrams and their times in, audio out).

``rtp`` (RFC 3550 headers) and ``codecs`` (numpy G.711, G.722) decode, ``timeline`` places
packets by their RTP timestamps, ``render`` decodes a window, ``assembler`` keeps one direction of
a call within bounded memory, ``collector`` picks the employee's direction of each call and
renders its opening and closing windows, ``vad`` finds speech in them; ``signals`` and ``wav``
are the helpers the tests and ``etykieta audio`` use.
"""
