"""Etykieta: a telephone etiquette monitor for a city hall PBX.

Packets seen next to the PBX go through the sans-I/O core in :mod:`etykieta.telephony`
and come out as call records in the metrics database (:mod:`etykieta.storage`).
"""

__version__ = "0.1.0"
