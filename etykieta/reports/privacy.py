"""Callers' numbers are personal data: how one is shown to someone who may not see it whole.

:func:`mask_number` is the one masking rule, for pages, the API and exports alike:
``+48748861212`` reads ``+48 74 *** ** 12`` — the country code, the first two digits of the
national number (the area or the mobile network) and the last two, enough to tell two callers
apart in a list, not to call one. :class:`NumberPolicy` decides, per viewer, when it applies:
extensions and the office's own numbers are never masked, nor anything for someone who may see
it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..telephony.numbers import Directory, clean_number
from .views import CallView

SHORT_NUMBER_DIGITS = 4
"""Short codes (112, 19115) and extensions of this many digits or fewer are no one's number."""
NOT_NUMBERS = frozenset({"", "anonymous", "unknown", "restricted", "unavailable", "private"})


def mask_number(number: str, *, country_code: str) -> str:
    """``number`` with all but its first two and last two national digits hidden.

    An E.164 number of the office's country keeps its code (``+48 74 *** ** 12``); another
    keeps its ``+`` and the first two digits after it. A name instead of digits (a SIP user
    such as ``jan.kowalski``) keeps its first letter only.
    """
    cleaned = clean_number(number)
    digits = cleaned.lstrip("+")
    if not digits.isdigit():
        return cleaned[:1] + "***" if cleaned.casefold() not in NOT_NUMBERS else number
    if len(digits) <= SHORT_NUMBER_DIGITS:
        return digits
    prefix = ""
    if cleaned.startswith("+"):
        code = country_code if digits.startswith(country_code) else ""
        prefix, digits = f"+{code} " if code else "+", digits[len(code):]
    if len(digits) <= SHORT_NUMBER_DIGITS:
        return prefix + "*" * len(digits)
    hidden = len(digits) - 4
    stars = "*** **" if hidden == 5 else "*" * hidden
    return f"{prefix}{digits[:2]} {stars} {digits[-2:]}"


@dataclass(frozen=True, slots=True)
class NumberPolicy:
    """How numbers are shown to one viewer: whole (``full``), or masked unless they are ours."""

    directory: Directory
    country_code: str
    full: bool

    def shown(self, number: str | None) -> str | None:
        """``number`` as this viewer may see it."""
        if number is None or self.full or self.ours(number):
            return number
        return mask_number(number, country_code=self.country_code)

    def ours(self, number: str) -> bool:
        """An extension, a number that reaches one (the office's DIDs), or no one's number."""
        cleaned = clean_number(number)
        digits = cleaned.lstrip("+")
        return (cleaned.casefold() in NOT_NUMBERS
                or (digits.isdigit() and len(digits) <= SHORT_NUMBER_DIGITS)
                or self.directory.extension_of(cleaned) is not None)


def masked(call: CallView, numbers: NumberPolicy) -> CallView:
    """``call`` with each number as ``numbers`` lets the viewer see it: what every page, the
    API and the exports show."""
    transfer = call.transfer
    if transfer is not None:
        transfer = replace(transfer, target=numbers.shown(transfer.target))
    return replace(call, caller=numbers.shown(call.caller) or "",
                   caller_e164=numbers.shown(call.caller_e164) or "",
                   dialed=numbers.shown(call.dialed) or "", transfer=transfer,
                   answered_by=numbers.shown(call.answered_by))  # outbound: the called party
