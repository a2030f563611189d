"""Calls from legs: which legs are one call (B2BUA and transfer correlation), and when it ends.

A PBX is a B2BUA: the caller-facing leg (trunk ↔ PBX) and each phone leg (PBX ↔ extension)
are separate dialogs with separate Call-IDs. ``CallAssembler`` groups the legs of one call the
way a person reading the ladder diagram would, strongest evidence first:

1. the configured correlation header (Asterisk's ``X-Linkedid``) names another leg or link id;
2. the INVITE replaces a dialog that a REFER of an open call pointed at (attended transfer,
   RFC 3891) or targets the number a REFER of an open call pointed at (blind transfer, RFC 3515);
3. the caller's number (or, outbound, the dialled number) matches an open call's, and the new
   leg comes from the address that received that call's leg (the PBX) — or from a configured
   PBX address, or within the link window.

A call is final when all its legs are final and ``settle_s`` of capture time has passed, so a
transfer leg that starts after the REFER still finds its call. Its record — outcome, rings,
transfers — is read from the group of legs by :mod:`.facts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import RingCadence
from .events import LegEvent, LegStarted
from .facts import (
    ANSWER_BRIDGE_S,
    LegGroup,
    build_record,
    callee_extension,
    caller_number,
    dialed_number,
)
from .legs import Leg
from .numbers import Directory
from .records import CallRecord, LegRole, LinkKind
from .sipuri import number_of

# How long after a REFER the transferee's (or PBX's) INVITE to the target may start.
REFER_WINDOW_S = 60.0


@dataclass(slots=True)
class AssemblerStats:
    calls: int = 0
    legs_linked: int = 0
    ambiguous_links: int = 0  # a leg that matched several open calls (issue: counted once)


# An open call a new leg belongs to: the call, the leg's role in it, and what linked it.
_Found = tuple[LegGroup, LegRole, LinkKind]


class CallAssembler:
    """Leg events in, finished ``CallRecord``s out (sans-I/O; ``now`` is capture time)."""

    def __init__(self, directory: Directory, cadence: RingCadence, *,
                 link_window_s: float = 10.0, settle_s: float = 10.0,
                 pbx_addresses: Iterable[str] = ()) -> None:
        self.directory = directory
        self.cadence = cadence
        self.link_window_s = link_window_s
        self.settle_s = settle_s
        self.pbx_addresses = frozenset(pbx_addresses)
        self.stats = AssemblerStats()
        self._groups: list[LegGroup] = []
        self._by_call_id: dict[str, LegGroup] = {}
        self._by_link: dict[str, LegGroup] = {}
        self._by_caller: dict[str, list[LegGroup]] = {}
        self._by_dialed: dict[str, list[LegGroup]] = {}

    # -- input ---------------------------------------------------------------------------
    def feed(self, event: LegEvent) -> list[CallRecord]:
        if isinstance(event, LegStarted):
            self._place(event.leg)
        # other events need nothing here: a group reads its legs' state when it settles
        return []

    def handle_timer(self, now: float) -> list[CallRecord]:
        """Finish the calls whose legs are all final and quiet for ``settle_s``."""
        done = [g for g in self._groups if g.settled() and now - g.last_end() >= self.settle_s]
        return [self._finish(g) for g in done]

    def close(self) -> list[CallRecord]:
        """End of input: finish every call (their legs were closed by the tracker)."""
        return [self._finish(g) for g in list(self._groups)]

    @property
    def open_calls(self) -> int:
        return len(self._groups)

    def leg_ids(self) -> set[str]:
        """Call-IDs of every leg of every open call."""
        return {leg.call_id for group in self._groups for leg in group.legs}

    def oldest_open_start(self) -> float | None:
        """When the oldest call still open began (capture time), or None if none is open."""
        return min((group.first.started_at for group in self._groups), default=None)

    def preview(self, call_id: str) -> CallRecord | None:
        """The record the open call holding leg ``call_id`` would give if it ended now.

        For the live monitor, which must judge a greeting while the call goes on: the
        answering leg and who answered are known long before the call is finished. None when
        no open call holds that leg. The call stays open; nothing is counted.
        """
        group = self._by_call_id.get(call_id)
        return None if group is None else build_record(group, self.directory, self.cadence)

    # -- correlation ---------------------------------------------------------------------
    def _place(self, leg: Leg) -> None:
        caller = self._e164(caller_number(leg))
        dialed = self._e164(dialed_number(leg))
        found = (self._by_header(leg) or self._by_transfer(leg)
                 or self._by_numbers(leg, caller, dialed) or self._by_address(leg))
        if found is None:
            group = LegGroup([leg], caller, dialed)
            group.roles[leg.call_id] = LegRole.CALLER
            self._groups.append(group)
            self._index(group, caller, dialed)
        else:
            group, role, how = found
            group.legs.append(leg)
            group.roles[leg.call_id] = role
            if group.link is LinkKind.SINGLE or how is LinkKind.AMBIGUOUS:
                group.link = how
            self.stats.legs_linked += 1
        self._by_call_id[leg.call_id] = group
        self._by_link[leg.call_id] = group
        if leg.link_value:
            self._by_link.setdefault(leg.link_value, group)

    def _by_header(self, leg: Leg) -> _Found | None:
        if not leg.link_value:
            return None
        group = self._by_link.get(leg.link_value)
        if group is None or group not in self._groups:
            return None
        return group, self._role_in(group, leg), LinkKind.HEADER

    def _by_transfer(self, leg: Leg) -> _Found | None:
        """The INVITE that carries out a REFER seen in an open call (RFC 3515, RFC 3891)."""
        target = self._extension_or_number(dialed_number(leg))
        for group in reversed(self._groups):
            for other in group.legs:
                for refer in other.refers:
                    if refer in group.refer_of.values():
                        continue
                    if not refer.at <= leg.started_at <= refer.at + REFER_WINDOW_S:
                        continue
                    replaced = leg.replaces.call_id if leg.replaces else None
                    wanted = refer.replaces.call_id if refer.replaces else None
                    refer_target = self._extension_or_number(number_of(refer.refer_to.uri))
                    if (wanted is not None and replaced == wanted) or refer_target == target:
                        group.refer_of[leg.call_id] = refer
                        if wanted is not None:
                            self._absorb(group, wanted)
                        return group, LegRole.TRANSFER, LinkKind.REFER
        return None

    def _absorb(self, group: LegGroup, call_id: str) -> None:
        """Fold the consultation call of an attended transfer into the transferred call."""
        other = self._by_call_id.get(call_id)
        if other is None or other is group or other not in self._groups:
            return
        self._groups.remove(other)
        for leg in other.legs:
            group.legs.append(leg)
            group.roles[leg.call_id] = LegRole.CONSULTATION
            self._by_call_id[leg.call_id] = group

    def _by_numbers(self, leg: Leg, caller: str, dialed: str) -> _Found | None:
        """A B2BUA's next leg of an open call: same caller (or same dialled external number)."""
        candidates = [g for g in self._by_caller.get(caller, ()) if self._may_link(g, leg)]
        if not candidates and not self.directory.is_extension(dialed):
            candidates = [g for g in self._by_dialed.get(dialed, ()) if self._may_link(g, leg)]
        if not candidates:
            return None
        confident = [g for g in candidates if self._from_pbx(g, leg)]
        pool = confident or [g for g in candidates
                             if leg.started_at - g.first.started_at <= self.link_window_s]
        if not pool:
            return None
        group = max(pool, key=lambda g: g.first.started_at)
        how = LinkKind.NUMBER if len(pool) == 1 else LinkKind.AMBIGUOUS
        if how is LinkKind.AMBIGUOUS:
            self.stats.ambiguous_links += 1
        return group, self._role_in(group, leg), how

    def _by_address(self, leg: Leg) -> _Found | None:
        """A PBX's leg to a phone that does not show the caller's number (rewritten, hidden).

        It comes from the address a still-ringing caller leg went to, within the link window,
        and rings an extension: it belongs to one of those calls, and is counted once, with
        low confidence (issue #3: the ambiguity is reported in the ingest summary).
        """
        if callee_extension(self.directory, leg) is None:
            return None
        pool = [g for g in self._groups
                if (g.first.dst.ip == leg.src.ip or leg.src.ip in self.pbx_addresses)
                and g.first.answered_at is None and self._may_link(g, leg)
                and leg.started_at - g.first.started_at <= self.link_window_s
                # only a call coming in from outside: a trunk or SBC that an extension's
                # outbound call went to also sends new inbound calls of its own
                and not self.directory.is_extension(g.caller_e164)]
        if not pool:
            return None
        self.stats.ambiguous_links += 1
        group = max(pool, key=lambda g: g.first.started_at)
        return group, self._role_in(group, leg), LinkKind.AMBIGUOUS

    def _may_link(self, group: LegGroup, leg: Leg) -> bool:
        first = group.first
        if group not in self._groups or leg.started_at < first.started_at:
            return False
        if first.ended_at is not None and leg.started_at > first.ended_at + ANSWER_BRIDGE_S:
            return False
        # two legs from the same UA to the same UA are two calls, not two hops
        return (leg.src.ip, leg.src.port) != (first.src.ip, first.src.port)

    def _from_pbx(self, group: LegGroup, leg: Leg) -> bool:
        return leg.src.ip == group.first.dst.ip or leg.src.ip in self.pbx_addresses

    def _role_in(self, group: LegGroup, leg: Leg) -> LegRole:
        first = group.first
        answered = first.answered_at
        if answered is not None and leg.started_at > answered:
            return LegRole.TRANSFER
        return LegRole.PHONE

    def _index(self, group: LegGroup, caller: str, dialed: str) -> None:
        self._by_caller.setdefault(caller, []).append(group)
        self._by_dialed.setdefault(dialed, []).append(group)

    def _unindex(self, group: LegGroup) -> None:
        self._groups.remove(group)
        for index, key in ((self._by_caller, group.caller_e164),
                           (self._by_dialed, group.dialed_e164)):
            bucket = index.get(key)
            if bucket is not None:
                bucket[:] = [g for g in bucket if g is not group]
                if not bucket:
                    del index[key]
        for leg in group.legs:
            self._by_call_id.pop(leg.call_id, None)
            self._by_link.pop(leg.call_id, None)
            if leg.link_value and self._by_link.get(leg.link_value) is group:
                del self._by_link[leg.link_value]

    # -- numbers -------------------------------------------------------------------------
    def _e164(self, number: str | None) -> str:
        return self.directory.normalise(number) if number else ""

    def _extension_or_number(self, number: str | None) -> str | None:
        if not number:
            return None
        return self.directory.extension_of(number) or self.directory.normalise(number)

    # -- the record ----------------------------------------------------------------------
    def _finish(self, group: LegGroup) -> CallRecord:
        self._unindex(group)
        self.stats.calls += 1
        return build_record(group, self.directory, self.cadence)


