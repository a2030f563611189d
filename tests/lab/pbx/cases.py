"""The PBX lab's cases: proxy, B2BUA and transfer captures (see labpbx.py for the machinery).

``python tests/lab/pbx/cases.py [CASE ...]`` regenerates them (all by default);
``--list`` names them. Each case's facts are written from its definition here: the pauses
that the phones' sipp scenarios play are the same numbers the expected ring times come from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labpbx import (  # noqa: E402
    CALLS_DIR,
    PBX,
    PENDING_CALLBACK,
    PHONES,
    PROXY,
    TRUNK2_PORT,
    UNIT,
    CallFacts,
    Case,
    Session,
    caller,
    check,
    check_expected_current,
    kamailio,
    make,
    phone,
    register,
    sippy_pbx,
    transfer,
    uri,
    write_case_expected,
)

# ------------------------------------------------------------------ proxy (Kamailio)

PROXY_NOTES = (
    "Kamailio 5.6 stateful proxy (t_relay, record_route) on 127.0.2.10:25060 between the "
    "caller (127.0.2.1:25001) and the phones (1201 at 127.0.3.1:25201, 1202 at "
    "127.0.3.2:25202), which REGISTER first (in the capture). Every call message shows "
    "twice: caller<->proxy and proxy<->phone, same Call-ID and CSeq, one more Via on the "
    "phone side. "
)


def run_proxy_answered(s: Session, ring_ms: int = 7500, talk_ms: int = 3000) -> None:
    register(s, "1201", "1201")
    s.start(phone("pbx_phone_answer.xml", "1201", pause_ms=ring_ms))
    s.start(
        caller(
            "pbx_caller_answer.xml",
            "+48600100200",
            "1201",
            name="Żaneta Kołodziej",
            pause_ms=talk_ms,
        ),
        PROXY,
    )


def run_proxy_abandoned(s: Session) -> None:
    register(s, "1201", "1201")
    s.start(phone("pbx_phone_ring.xml", "1201"))
    s.start(caller("pbx_caller_cancel.xml", "604555123", "1201", pause_ms=9000), PROXY)


def run_proxy_busy(s: Session) -> None:
    register(s, "1202", "1202")
    s.start(phone("pbx_phone_busy.xml", "1202"))
    s.start(caller("pbx_caller_rejected.xml", "+48741234567", "1202"), PROXY)


def run_proxy_forked(s: Session) -> None:
    register(s, "1201", "1100")
    register(s, "1202", "1100")
    s.start(phone("pbx_phone_ring.xml", "1201"))
    s.start(phone("pbx_phone_answer.xml", "1202", pause_ms=12500))
    s.start(caller("pbx_caller_answer.xml", "+48501002003", "1100", name="Jerzy Łęcki"), PROXY)


PROXY_CASES = [
    Case(
        "proxy_answered_ring2",
        "Caller +48600100200 calls 1201 through a stateful proxy; 1201 rings 7.5 s and answers.",
        "2026-11-18 09:00:00",
        run_proxy_answered,
        lambda t: [CallFacts("+48600100200", "1201", "answered", "1201", 7.5)],
        PROXY_NOTES + 'From carries the display name "Żaneta Kołodziej" (UTF-8). Caller hangs up '
        "after 3 s of talk.",
        kamailio,
    ),
    Case(
        "proxy_abandoned",
        "Caller 604555123 calls 1201 through a proxy and hangs up after 9 s of ringing "
        "(CANCEL relayed by the proxy, 487 from the phone).",
        "2026-11-18 09:10:00",
        run_proxy_abandoned,
        lambda t: [CallFacts("604555123", "1201", "abandoned", callback=PENDING_CALLBACK)],
        PROXY_NOTES + "National caller number without a prefix. The phone's 487 carries both Vias "
        "of the INVITE (the proxy's CANCEL is hop-by-hop). Missed call: a callback is due "
        "4 business hours after the call ended (the 487 the caller got, ~9 s after its INVITE).",
        kamailio,
    ),
    Case(
        "proxy_busy",
        "Caller +48741234567 calls 1202 through a proxy; 1202 answers 486 Busy Here at once.",
        "2026-11-18 09:20:00",
        run_proxy_busy,
        lambda t: [CallFacts("+48741234567", "1202", "busy", callback=PENDING_CALLBACK)],
        PROXY_NOTES + "No 180: the 486 is the only final response, relayed by the proxy, which "
        "ACKs it hop by hop. Missed call: callback due 4 business hours after the 486 reached the "
        "caller.",
        kamailio,
    ),
    Case(
        "proxy_forked",
        "Caller +48501002003 calls ring group 1100; the proxy forks to 1201 and 1202 (both "
        "registered under 1100), both ring, 1202 answers after 12.5 s and the proxy CANCELs 1201.",
        "2026-11-18 09:30:00",
        run_proxy_forked,
        lambda t: [CallFacts("+48501002003", "1100", "answered", "1202", 12.5)],
        PROXY_NOTES + "1201 and 1202 REGISTER their contacts (users 1201/1202) under the AOR 1100; "
        "the caller sees two 180s with different To-tags, the 200 carries 1202's tag and Contact "
        "sip:1202@127.0.3.2:25202; 1201's branch ends with CANCEL/200/487/ACK. Ring time counts "
        "from the first 180 the caller saw.",
        kamailio,
    ),
]

# --------------------------------------------------------------------- B2BUA (sippy)

B2BUA_NOTES = (
    "B2BUA PBX (tests/lab/pbx/sippy_pbx.py, the sippy library) on 127.0.2.20:25060. "
    "Caller-facing leg: trunk 127.0.2.1:25001 -> PBX, R-URI/To user is the DID "
    "+4874886XXXX; the PBX maps it to extension XXXX and opens the phone leg PBX -> "
    "phone (1201 at 127.0.3.1:25201, 1202 at 127.0.3.2:25202) with its own Call-ID, "
    "To user = the extension and From = the caller's number and display name. The two "
    "legs share no header unless stated. "
)


def b2bua(*args: str) -> Callable[[Path], Any]:
    """The sippy PBX with extra options, as a Case's server factory."""
    return lambda workdir: sippy_pbx(workdir, *args)


def run_b2bua_answered(s: Session, ring_ms: int = 12500, talk_ms: int = 3000) -> None:
    s.start(phone("pbx_phone_answer.xml", "1201", pause_ms=ring_ms))
    s.start(
        caller(
            "pbx_caller_answer.xml",
            "+48600700800",
            "+48748861201",
            name="Grzegorz Brzęczyszczykiewicz",
            pause_ms=talk_ms,
        ),
        PBX,
    )


def run_b2bua_abandoned(s: Session) -> None:
    s.start(phone("pbx_phone_ring.xml", "1202"))
    s.start(caller("pbx_caller_cancel.xml", "226543210", "+48748861202", pause_ms=14000), PBX)


def run_b2bua_no_answer(s: Session) -> None:
    s.start(phone("pbx_phone_ring.xml", "1201"))
    s.start(caller("pbx_caller_rejected.xml", "+48690111222", "+48748861201"), PBX)


def run_b2bua_linkedid(s: Session) -> None:
    s.start(phone("pbx_phone_answer.xml", "1202", pause_ms=2500))
    s.start(
        caller(
            "pbx_caller_answer.xml",
            "+48607123456",
            "+48748861202",
            name='Biuro "Rachunkowe" Sp. z o.o.',
        ),
        PBX,
    )


B2BUA_CASES = [
    Case(
        "b2bua_answered_ring3",
        "Caller +48600700800 dials DID +48748861201; the B2BUA PBX rings 1201 on a new leg; "
        "1201 answers after 12.5 s.",
        "2026-11-18 10:00:00",
        run_b2bua_answered,
        lambda t: [CallFacts("+48600700800", "+48748861201", "answered", "1201", 12.5, unit=UNIT)],
        B2BUA_NOTES + 'Display name "Grzegorz Brzęczyszczykiewicz" on both legs. The PBX relays '
        "180 and 200 to the caller a few ms after the phone sends them; the caller hangs up "
        "after 3 s and the PBX BYEs the phone leg.",
        b2bua(),
    ),
    Case(
        "b2bua_abandoned",
        "Caller 226543210 dials DID +48748861202 and hangs up after 14 s of ringing; the PBX "
        "CANCELs its phone leg to 1202.",
        "2026-11-18 10:10:00",
        run_b2bua_abandoned,
        lambda t: [
            CallFacts(
                "226543210", "+48748861202", "abandoned", unit=UNIT, callback=PENDING_CALLBACK
            )
        ],
        B2BUA_NOTES + "Both legs end CANCEL / 200 / 487 / ACK. Missed call: callback due 4 "
        "business hours after the call ended (the 487 the caller got).",
        b2bua(),
    ),
    Case(
        "b2bua_no_answer",
        "Caller +48690111222 dials DID +48748861201; 1201 rings for the PBX's 20 s Dial timeout, "
        "the PBX CANCELs the phone leg and answers the caller 480 Temporarily Unavailable.",
        "2026-11-18 10:20:00",
        run_b2bua_no_answer,
        lambda t: [
            CallFacts(
                "+48690111222", "+48748861201", "no_answer", unit=UNIT, callback=PENDING_CALLBACK
            )
        ],
        B2BUA_NOTES + "sippy_pbx.py --ring-timeout 20. Missed call: callback due 4 business hours "
        "after the call ended (the PBX's 480 to the caller, ~20 s after the INVITE).",
        b2bua("--ring-timeout", "20"),
    ),
    Case(
        "b2bua_linkedid",
        "Caller +48607123456 dials DID +48748861202; the PBX's phone leg to 1202 carries "
        "X-Linkedid = the caller-facing leg's Call-ID; 1202 answers after 2.5 s.",
        "2026-11-18 10:30:00",
        run_b2bua_linkedid,
        lambda t: [CallFacts("+48607123456", "+48748861202", "answered", "1202", 2.5, unit=UNIT)],
        B2BUA_NOTES + "sippy_pbx.py --linkedid: the phone leg's INVITE has the header "
        "'X-linkedid: <caller-facing Call-ID>' (sippy writes the name with a lower-case l; header "
        "names are case-insensitive, RFC 3261 7.3.1). The display name has escaped quotes "
        "inside (RFC 3261 quoted-pair): "
        'From: "Biuro \\"Rachunkowe\\" Sp. z o.o." <sip:...>.',
        b2bua("--linkedid"),
    ),
]

# ------------------------------------------------------------ transfers, direct (REFER)

TRANSFER_NOTES = (
    "Direct calls, no PBX: caller C is 127.0.2.1 (first UA leg port 25001, its second "
    "UA leg for the new INVITE port 25002), 1201 is 127.0.3.1:25201, the target 1202 "
    "127.0.3.2:25202. 1201 answers after 2.5 s, talks, then REFERs C (Refer-To "
    "<sip:1202@127.0.3.2:25202>, Referred-By <sip:1201@127.0.3.1:25201>); C answers "
    "202, NOTIFY sipfrag 'SIP/2.0 100 Trying', INVITEs 1202 on a new Call-ID with "
    "Referred-By, then NOTIFYs the target's final answer as sipfrag. The call to 1202 "
    "is part of the same call (the transfer's target leg), not a second inbound call. "
)
C_NUMBER, C_NAME = "+48512345678", "Żaneta Kołodziej"
REFER_AT_S = 2.5 + 3.0  # 1201: 2.5 s ring (in transfer_transferor.xml) + 3 s talk
NEW_CALL_AT_S = REFER_AT_S + 1.0  # the driver starts C's second leg 1 s after the REFER


def blind_transfer(
    s: Session,
    target_scenario: str,
    target_ring_ms: int,
    newcall_scenario: str,
    newcall_pause_ms: int,
    frag: str,
    notify_wait_ms: int,
    transferee: str = "transfer_transferee.xml",
) -> None:
    """C calls 1201, 1201 REFERs C to 1202, C's second leg calls 1202 (one choreography)."""
    s.start(phone(target_scenario, "1202", pause_ms=target_ring_ms))
    s.start(
        phone(
            "transfer_transferor.xml", "1201", pause_ms=3000, keys={"refer_to": f"<{uri('1202')}>"}
        )
    )
    mark = time.monotonic()
    s.start(
        caller(
            transferee, C_NUMBER, "1201", name=C_NAME, pause_ms=notify_wait_ms, keys={"frag": frag}
        ),
        PHONES["1201"],
        settle=False,
    )
    s.start_at(
        mark,
        NEW_CALL_AT_S,
        caller(
            newcall_scenario,
            C_NUMBER,
            "1202",
            name=C_NAME,
            pause_ms=newcall_pause_ms,
            port=TRUNK2_PORT,
            keys={"referred_by": f"<{uri('1201')}>"},
        ),
        PHONES["1202"],
    )


def run_transfer_blind(s: Session) -> None:
    # 1202 answers 2.5 s after C's INVITE (at ~9.0 s); C's final NOTIFY at REFER + 4.5 s
    blind_transfer(
        s, "pbx_phone_answer.xml", 2500, "transfer_newcall_answer.xml", 4000, "SIP/2.0 200 OK", 4500
    )


def run_transfer_failed_busy(s: Session) -> None:
    blind_transfer(
        s,
        "pbx_phone_busy.xml",
        0,
        "transfer_newcall_rejected.xml",
        0,
        "SIP/2.0 486 Busy Here",
        2000,
    )


def run_transfer_failed_no_answer(s: Session) -> None:
    blind_transfer(
        s,
        "pbx_phone_no_answer.xml",
        10000,
        "transfer_newcall_rejected.xml",
        0,
        "SIP/2.0 480 Temporarily Unavailable",
        12000,
    )


def run_transfer_failed_caller_hung_up(s: Session) -> None:
    blind_transfer(
        s,
        "pbx_phone_ring.xml",
        0,
        "transfer_newcall_cancel.xml",
        4000,
        "SIP/2.0 487 Request Terminated",
        6000,
        transferee="transfer_transferee_hangs_up.xml",
    )


def transfer_facts(
    outcome: str, reason: str | None, kind: str = "blind"
) -> Callable[[dt.datetime], list[CallFacts]]:
    """The one inbound call of a transfer case: C -> 1201 (answered, ring 1), moved to 1202."""

    def facts(start: dt.datetime) -> list[CallFacts]:
        return [
            CallFacts(
                C_NUMBER,
                "1201",
                "answered",
                "1201",
                2.5,
                transfer=transfer(kind, "1202", outcome, reason),
                callback=PENDING_CALLBACK if outcome == "failed" else None,
            )
        ]

    return facts


CONSULT_CALL_ID, CONSULT_FROM_TAG, CONSULT_TO_TAG = "consult-1@127.0.3.1", "1201c1", "1202t1"


def run_transfer_attended(s: Session) -> None:
    """C calls 1201; 1201 consults 1202 on its second UA; REFER with Replaces; C replaces it."""
    replaces = f"{CONSULT_CALL_ID};to-tag={CONSULT_TO_TAG};from-tag={CONSULT_FROM_TAG}"
    escaped = replaces.replace("@", "%40").replace(";", "%3B").replace("=", "%3D")
    s.start(phone("transfer_target_attended.xml", "1202", pause_ms=2500, extra=("-m", "2")))
    s.start(
        phone(
            "transfer_transferor.xml",
            "1201",
            pause_ms=5500,
            keys={"refer_to": f"<{uri('1202')}?Replaces={escaped}>"},
        )
    )
    mark = time.monotonic()
    s.start(
        caller(
            "transfer_transferee.xml",
            C_NUMBER,
            "1201",
            name=C_NAME,
            pause_ms=2000,
            keys={"frag": "SIP/2.0 200 OK"},
        ),
        PHONES["1201"],
        settle=False,
    )
    s.start_at(
        mark,
        4.0,
        phone(
            "transfer_consult_call.xml",
            "1201",
            second_ua=True,
            service="1202",
            extra=("-cid_str", "consult-%u@%s"),
        ),
        PHONES["1202"],
    )
    s.start_at(
        mark,
        9.0,
        caller(
            "transfer_newcall_replaces.xml",
            C_NUMBER,
            "1202",
            name=C_NAME,
            pause_ms=3000,
            port=TRUNK2_PORT,
            keys={"referred_by": f"<{uri('1201')}>", "replaces": replaces},
        ),
        PHONES["1202"],
    )


FAILED_NOTE = (
    "Failed transfer (T6): a callback obligation is open, due 4 business hours after the "
    "transfer failed (the target's final non-2xx answer to the INVITE that was to connect the "
    "caller, or the CANCEL of that INVITE), as of the capture's last packet. "
)

TRANSFER_CASES = [
    Case(
        "transfer_blind",
        "C calls 1201, 1201 answers and blind-transfers C to 1202 with REFER; C's new INVITE "
        "(Referred-By 1201) is answered by 1202; NOTIFY 200; 1201 hangs up.",
        "2026-11-18 11:00:00",
        run_transfer_blind,
        transfer_facts("connected", None),
        TRANSFER_NOTES + "1202 rings 2.5 s. After the final NOTIFY (sipfrag 200) 1201 BYEs C's "
        "first leg; C talks to 1202 and hangs up.",
    ),
    Case(
        "transfer_attended",
        "C calls 1201; 1201 consults 1202 on a second call (answered), then REFERs C with "
        "Refer-To 1202?Replaces=<consultation dialog>; C's INVITE with Replaces is answered by "
        "1202, which BYEs the consultation call; 1201 hangs up on C.",
        "2026-11-18 11:05:00",
        run_transfer_attended,
        transfer_facts("connected", None, "attended"),
        "Direct calls, no PBX: C = 127.0.2.1 (ports 25001 and 25002), 1201 = 127.0.3.1 (25201 "
        "for C's call, 25211 for its consultation call), 1202 = 127.0.3.2:25202. C calls 1201 "
        "(answered after 2.5 s). 4 s after C's INVITE 1201's second UA calls 1202 (Call-ID "
        f"{CONSULT_CALL_ID}, From-tag {CONSULT_FROM_TAG}; 1202 rings 2.5 s, To-tag "
        f"{CONSULT_TO_TAG}). At 8 s 1201 REFERs C: Refer-To <sip:1202@127.0.3.2:25202?Replaces="
        "consult-1%40127.0.3.1%3Bto-tag%3D1202t1%3Bfrom-tag%3D1201c1>; C answers 202, NOTIFY "
        "100, INVITEs 1202 with Replaces and Referred-By (answered at once), NOTIFY 200; 1202 "
        "BYEs the consultation call, 1201 BYEs C's first leg. The consultation call is part of "
        "the transfer, not a call of its own.",
    ),
    Case(
        "transfer_failed_busy",
        "C calls 1201, 1201 REFERs C to 1202; 1202 answers C's INVITE 486 Busy Here; C NOTIFYs "
        "sipfrag 486; 1201 takes the call back and hangs up.",
        "2026-11-18 11:10:00",
        run_transfer_failed_busy,
        transfer_facts("failed", "busy"),
        TRANSFER_NOTES + FAILED_NOTE,
    ),
    Case(
        "transfer_failed_no_answer",
        "C calls 1201, 1201 REFERs C to 1202; 1202 rings 10 s and gives up with 480; C NOTIFYs "
        "sipfrag 480; 1201 takes the call back and hangs up.",
        "2026-11-18 11:20:00",
        run_transfer_failed_no_answer,
        transfer_facts("failed", "no_answer"),
        TRANSFER_NOTES + FAILED_NOTE,
    ),
    Case(
        "transfer_failed_caller_hung_up",
        "C calls 1201, 1201 REFERs C to 1202; while 1202 rings C gives up (CANCEL, 487), NOTIFYs "
        "sipfrag 487 and hangs up on 1201.",
        "2026-11-18 11:30:00",
        run_transfer_failed_caller_hung_up,
        transfer_facts("failed", "caller_hung_up"),
        TRANSFER_NOTES + "C CANCELs the INVITE to 1202 after 4 s of ringing. " + FAILED_NOTE,
    ),
]

# ------------------------------------------------------------------ transfers in the PBX


def run_transfer_pbx_internal(s: Session) -> None:
    s.start(phone("pbx_phone_answer.xml", "1201", pause_ms=2500))
    s.start(phone("pbx_phone_answer.xml", "1202", pause_ms=2500))
    s.start(caller("pbx_caller_answer.xml", "+48321234567", "+48748861201", pause_ms=12000), PBX)


def run_transfer_pbx_notify_lies(s: Session) -> None:
    s.start(phone("pbx_phone_busy.xml", "1202"))
    s.start(
        phone(
            "transfer_transferor.xml",
            "1201",
            pause_ms=3000,
            keys={"refer_to": f"<sip:1202@{PBX[0]}:{PBX[1]}>"},
        )
    )
    s.start(
        caller(
            "pbx_caller_answer_far_hangup.xml",
            "+48795000111",
            "+48748861201",
            name="Stanisław Wąsik",
        ),
        PBX,
    )


PBX_TRANSFER_CASES = [
    Case(
        "transfer_pbx_internal",
        "Caller +48321234567 dials DID +48748861201, 1201 answers after 2.5 s; 4 s later the PBX "
        "itself (feature-code transfer, no REFER) rings 1202 on a new leg with the caller's "
        "number in From; 1202 answers, the PBX BYEs 1201's leg; the caller-facing leg stays up.",
        "2026-11-18 12:00:00",
        run_transfer_pbx_internal,
        lambda t: [
            CallFacts(
                "+48321234567",
                "+48748861201",
                "answered",
                "1201",
                2.5,
                unit=UNIT,
                transfer=transfer("pbx", "1202", "connected"),
            )
        ],
        B2BUA_NOTES + "sippy_pbx.py --transfer-after 4:1202. Three Call-IDs: caller-facing leg, "
        "leg to 1201, leg to 1202 (From = the caller, as on 1201's leg; 1202 rings 2.5 s). No "
        "re-INVITE towards the caller (media stays anchored in the PBX). The caller hangs up "
        "12 s after the answer; the PBX BYEs 1202.",
        b2bua("--transfer-after", "4:1202"),
    ),
    Case(
        "transfer_pbx_notify_lies",
        "Caller +48795000111 dials DID +48748861201, 1201 answers and REFERs the PBX to 1202; the "
        "PBX answers 202 and NOTIFY sipfrag 200 at once (Asterisk refer_blind_progress=no), then "
        "its INVITE to 1202 gets 486 Busy Here and it hangs up the caller: the transfer failed.",
        "2026-11-18 12:10:00",
        run_transfer_pbx_notify_lies,
        lambda t: [
            CallFacts(
                "+48795000111",
                "+48748861201",
                "answered",
                "1201",
                2.5,
                unit=UNIT,
                transfer=transfer("blind", "1202", "failed", "busy"),
                callback=PENDING_CALLBACK,
            )
        ],
        B2BUA_NOTES + "The REFER (Refer-To <sip:1202@127.0.2.20:25060>) travels on 1201's leg "
        "(phone -> PBX). The NOTIFY's 200 only means 'accepted': the truth is the PBX's new leg "
        "to 1202 (From = the caller) and its 486. The PBX BYEs the caller; 1201 BYEs its leg "
        "1.5 s after the NOTIFY. " + FAILED_NOTE,
        b2bua(),
    ),
]

CASES: list[Case] = PROXY_CASES + B2BUA_CASES + TRANSFER_CASES + PBX_TRANSFER_CASES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the PBX lab's captures.")
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--check",
        action="store_true",
        help="only re-check existing captures against their expected facts",
    )
    parser.add_argument(
        "--expected-only",
        action="store_true",
        help="rewrite the expected files from the existing captures (no recording)",
    )
    args = parser.parse_args(argv)
    by_name = {case.name: case for case in CASES}
    if args.list:
        for case in CASES:
            print(f"{case.name:32} {case.description}")
        return 0
    unknown = [name for name in args.cases if name not in by_name]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    if args.check and args.expected_only:
        parser.error("--check and --expected-only exclude each other")
    if args.check or args.expected_only:
        failed = 0
        for name in args.cases or list(by_name):
            expected = CALLS_DIR / f"{name}.expected.json"
            if args.expected_only:
                write_case_expected(by_name[name])
            problems = check(expected) + check_expected_current(by_name[name], expected)
            failed += bool(problems)
            print(f"{name:32} {'OK' if not problems else '; '.join(problems)}")
        return 1 if failed else 0
    for name in args.cases or list(by_name):
        began = time.monotonic()
        pcap = make(by_name[name])
        print(
            f"{name:32} {pcap.stat().st_size:7d} B  {time.monotonic() - began:5.1f} s", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
