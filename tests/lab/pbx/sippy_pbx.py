"""A small office PBX for the capture lab, built on the ``sippy`` B2BUA library (PyPI ``sippy``).

Like Asterisk it is a back-to-back user agent: every inbound call is a caller-facing leg
(trunk → PBX) plus one or more phone legs (PBX → desk phone), each its own SIP dialog with its
own Call-ID. The phone legs carry the caller's number and display name in From.

Routing: the dialed user is a DID ``<--did-prefix>EXT`` or a bare extension; ``--phone
EXT=IP:PORT`` says where extension EXT rings. Options reproduce PBX behaviours the monitor must
understand:

* ``--linkedid``: phone legs carry ``X-Linkedid: <caller-facing leg's Call-ID>``;
* ``--ring-timeout S``: after S s of ringing the PBX CANCELs the phone and answers the caller
  480 Temporarily Unavailable (a Dial() timeout);
* ``--transfer-after S:EXT``: S s after the answer the PBX moves the call to EXT on its own
  (a DTMF feature-code transfer: no REFER on the wire): a new leg to EXT with the same caller;
  when EXT answers, the first phone's leg gets a BYE; the caller-facing leg stays up;
* REFER from a phone (always on): answered 202 and, like Asterisk with
  ``refer_blind_progress=no``, a NOTIFY ``SIP/2.0 200 OK`` sipfrag at once; then a new leg to the
  Refer-To user. If that leg fails, the PBX hangs up the caller (a failed blind transfer).

Safety: the PBX binds one loopback address and refuses to send to anything outside
127.0.2.0/23, UDP ports 25000-25999 (the lab's share); it exits after ``--max-seconds``.

Run: ``python sippy_pbx.py --listen 127.0.2.20:25060 --phone 1201=127.0.3.1:25201 ...``
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from typing import Any

from sippy.CCEvents import (
    CCEventConnect,
    CCEventDisconnect,
    CCEventFail,
    CCEventRing,
    CCEventTry,
)
from sippy.Core.EventDispatcher import ED2
from sippy.MsgBody import MsgBody
from sippy.SipAddress import SipAddress
from sippy.SipCallId import SipCallId
from sippy.SipConf import SipConf
from sippy.SipContact import SipContact
from sippy.SipHeader import SipHeader
from sippy.SipLogger import SipLogger
from sippy.SipTransactionManager import SipTransactionManager
from sippy.SipURL import SipURL
from sippy.Time.Timeout import Timeout
from sippy.UA import UA
from sippy.UaStateConnected import UaStateConnected
from sippy.Udp_server import Udp_server

LAB_NET = ipaddress.ip_network("127.0.2.0/23")
LAB_PORTS = range(25000, 26000)
LINK_HEADER = "X-Linkedid"
UA_NAME = "etykieta-lab PBX (sippy B2BUA)"


class GuardError(RuntimeError):
    """The PBX was about to send outside the lab's loopback range."""


def _guarded_send_to(original: Any) -> Any:
    def send_to(
        self: Udp_server, data: bytes, address: tuple[str, int], delayed: bool = False
    ) -> None:
        host, port = address
        if ipaddress.ip_address(host) not in LAB_NET or int(port) not in LAB_PORTS:
            sys.stderr.write(f"GUARD: refusing to send to {host}:{port}\n")
            return
        original(self, data, address, delayed)

    return send_to


Udp_server.send_to = _guarded_send_to(Udp_server.send_to)


def pbx_contact() -> SipContact:
    """``<sip:PBX-IP:PORT>``: sippy's default adds the display name "Anonymous", which sipp 3.6
    copies into the Request-URI of its ACK (``[next_url]``), making it unparsable."""
    url = SipURL(host=str(SipConf.my_address), port=int(SipConf.my_port))
    return SipContact(address=SipAddress(url=url, hadbrace=True))


def new_ua(config: dict[str, Any], **kwargs: Any) -> UA:
    """A sippy UA with the lab PBX's User-Agent and Contact."""
    ua = UA(config, **kwargs)
    ua.local_ua = UA_NAME
    ua.lContact = pbx_contact()
    return ua


class PbxCall:
    """One inbound call: the caller-facing UA and the phone leg(s) it is bridged to."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.ua_a = new_ua(pbx.config, event_cb=self.on_caller_event)
        self.phone: UA | None = None  # the phone leg the caller is bridged to
        self.closed: set[int] = set()  # legs whose events no longer reach the caller
        self.cli = ""
        self.caller_name: str | None = None
        self.body: Any = None
        self.answered = False

    # ---------------------------------------------------------------- caller side

    def on_caller_event(self, event: Any, ua: UA) -> None:
        if isinstance(event, CCEventTry):
            _cid, self.cli, cld, self.body, _auth, self.caller_name = event.getData()
            ext = self.pbx.route(str(cld))
            if ext is None:
                self.ua_a.recvEvent(CCEventFail((404, "Not Found")))
                return
            self.phone = self.dial(ext, self.on_phone_event)
            if self.pbx.ring_timeout:
                Timeout(self.ring_timeout, self.pbx.ring_timeout)
            return
        if self.phone is not None:
            self.phone.recvEvent(event)

    # ----------------------------------------------------------------- phone legs

    def dial(self, ext: str, callback: Any) -> UA:
        """Start a new leg (new Call-ID) to extension ``ext`` carrying the caller's identity."""
        leg = new_ua(self.pbx.config, event_cb=callback, nh_address=self.pbx.phones[ext])
        leg.pbx_call = self
        leg.pbx_ext = ext
        event = CCEventTry((SipCallId(), self.cli, ext, self.body, None, self.caller_name))
        if self.pbx.linkedid:
            event.extra_headers = (SipHeader(name=LINK_HEADER, bodys=str(self.ua_a.cId)),)
        leg.recvEvent(event)
        return leg

    def on_phone_event(self, event: Any, ua: UA) -> None:
        if id(ua) in self.closed or ua is not self.phone:
            return
        if isinstance(event, CCEventConnect):
            self.answered = True
            if self.pbx.transfer_after is not None:
                delay, target = self.pbx.transfer_after
                Timeout(self.feature_transfer, delay, 1, target)
        self.ua_a.recvEvent(event)

    def ring_timeout(self) -> None:
        """Dial() timeout: CANCEL the ringing phone, tell the caller 480."""
        if self.answered or self.phone is None:
            return
        self.closed.add(id(self.phone))
        self.phone.recvEvent(CCEventDisconnect())
        self.ua_a.recvEvent(CCEventFail((480, "Temporarily Unavailable")))

    # ------------------------------------------------------------------ transfers

    def feature_transfer(self, target: str) -> None:
        """PBX-internal transfer (feature code): leg to ``target``; drop the old phone on answer."""
        old = self.phone
        if old is None:
            return
        self.closed.add(id(old))
        self.dial(
            target,
            lambda event, ua: self.on_transfer_leg_event(event, ua, old, hang_up_caller=False),
        )

    def blind_transfer(self, referrer: UA, target: str) -> None:
        """After a REFER from ``referrer``: new leg to ``target``; the referrer's leg is let go."""
        self.closed.add(id(referrer))
        self.dial(
            target,
            lambda event, ua: self.on_transfer_leg_event(event, ua, None, hang_up_caller=True),
        )

    def on_transfer_leg_event(
        self, event: Any, leg: UA, old: UA | None, hang_up_caller: bool
    ) -> None:
        if isinstance(event, CCEventRing):
            return
        if isinstance(event, CCEventConnect):
            self.phone = leg
            if old is not None:
                old.recvEvent(CCEventDisconnect())
            return
        if isinstance(event, CCEventFail):
            if hang_up_caller:
                self.phone = None
                self.ua_a.recvEvent(CCEventDisconnect())
            return
        if isinstance(event, CCEventDisconnect) and leg is self.phone:
            self.ua_a.recvEvent(event)


def _recv_refer(state: UaStateConnected, req: Any) -> None:
    """REFER on a phone leg: 202, NOTIFY "200 OK" at once (refer_blind_progress=no), transfer."""
    ua = state.ua
    call: PbxCall | None = getattr(ua, "pbx_call", None)
    if call is None or req.countHFs("refer-to") == 0:
        req.sendResponse(400, "Bad Request")
        return None
    req.sendResponse(202, "Accepted")
    target = req.getHFBody("refer-to").getUrl().username
    frag = MsgBody("SIP/2.0 200 OK\r\n", mtype="message/sipfrag;version=2.0")
    notify = ua.genRequest(
        "NOTIFY",
        frag,
        extra_headers=(
            SipHeader(name="event", bodys="refer"),
            SipHeader(name="subscription-state", bodys="terminated;reason=noresource"),
        ),
    )
    ua.newUacTransaction(notify)
    call.blind_transfer(ua, target)
    return None


UaStateConnected.recv_request_handlers = {
    **UaStateConnected.recv_request_handlers,
    "REFER": _recv_refer,
}


class Pbx:
    """Routing table and options shared by all calls."""

    def __init__(self, args: argparse.Namespace) -> None:
        host, port = args.listen.rsplit(":", 1)
        SipConf.my_address = host
        SipConf.my_port = int(port)
        SipConf.my_uaname = UA_NAME
        self.config: dict[str, Any] = {
            "_sip_address": host,
            "_sip_port": int(port),
            "_sip_logger": SipLogger("sippy_pbx"),
        }
        self.phones: dict[str, tuple[str, int]] = {}
        for item in args.phone:
            ext, _, addr = item.partition("=")
            ip, _, p = addr.rpartition(":")
            self.phones[ext] = (ip, int(p))
        self.did_prefix: str = args.did_prefix
        self.linkedid: bool = args.linkedid
        self.ring_timeout: float | None = args.ring_timeout
        self.transfer_after: tuple[float, str] | None = None
        if args.transfer_after:
            delay, _, target = args.transfer_after.partition(":")
            self.transfer_after = (float(delay), target)
        self.config["_sip_tm"] = SipTransactionManager(self.config, self.recv_request)

    def route(self, dialed: str) -> str | None:
        """Map a DID (prefix + extension) or an extension to a known extension."""
        if self.did_prefix and dialed.startswith(self.did_prefix):
            dialed = dialed[len(self.did_prefix) :]
        return dialed if dialed in self.phones else None

    def recv_request(self, req: Any, sip_t: Any) -> Any:
        if req.getHFBody("to").getTag() is not None:
            return (req.genResponse(481, "Call Leg/Transaction Does Not Exist"), None, None)
        if req.getMethod() == "INVITE":
            return PbxCall(self).ua_a.recvRequest(req, sip_t)
        return (req.genResponse(501, "Not Implemented"), None, None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", required=True, help="IP:PORT to bind (lab loopback only)")
    parser.add_argument("--phone", action="append", default=[], help="EXT=IP:PORT")
    parser.add_argument("--did-prefix", default="", help="DID prefix stripped to get the extension")
    parser.add_argument("--linkedid", action="store_true", help=f"add {LINK_HEADER} to phone legs")
    parser.add_argument("--ring-timeout", type=float, default=None, help="Dial() timeout, s")
    parser.add_argument("--transfer-after", default=None, help="S:EXT feature-code transfer")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="exit after this long")
    args = parser.parse_args(argv)
    host = args.listen.rsplit(":", 1)[0]
    if ipaddress.ip_address(host) not in LAB_NET:
        parser.error(f"--listen {host} is outside the lab's {LAB_NET}")
    os.environ.setdefault("SIPLOG_BEND", "stderr")
    Pbx(args)
    Timeout(lambda: ED2.breakLoop(0), args.max_seconds)
    ED2.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
