"""Etykieta: a telephone etiquette monitor for a city hall PBX.

Packets seen next to the PBX go through the sans-I/O core in :mod:`etykieta.telephony`
and come out as call records in the metrics database (:mod:`etykieta.storage`).

The handbook's phone rules that the code cites as T1–T11 are in ``docs/phone-standard.md``
(Polish wording, English gloss); the measured facts it is built on in ``docs/field-notes.md``.
"""

__version__ = "0.1.0"
