"""``[web]``: where ``etykieta serve`` listens, its public address, its key file, single sign-on."""

from __future__ import annotations

from etykieta.config import ReportSettings, WebSettings, parse_settings
from etykieta.config.loader import _parse

from ..conftest import LAB_CONFIG

LAB = LAB_CONFIG.read_text()


def test_web_defaults_serve_this_machine_on_8080() -> None:
    web = parse_settings(LAB).web
    assert web == WebSettings(host="127.0.0.1", port=8080, public_url="",
                              secret_file="var/web-secret", trust_proxy_user_header="")
    assert not web.https


def test_web_keys_are_read_and_an_https_address_makes_the_cookie_secure() -> None:
    web = parse_settings(LAB + '\n[web]\nhost = "0.0.0.0"\nport = 8443\n'
                         'public_url = "https://etykieta.um.example.pl/"\n'
                         'secret_file = "/etc/etykieta/web-secret"\n'
                         'trust_proxy_user_header = "X-Remote-User"\n').web
    assert web == WebSettings("0.0.0.0", 8443, "https://etykieta.um.example.pl",
                              "/etc/etykieta/web-secret", "X-Remote-User")
    assert web.https


def test_every_bad_web_key_is_reported_with_its_line() -> None:
    start = len(LAB.splitlines()) + 2
    text = LAB + ('\n[web]\nhost = ""\nport = 70000\npublic_url = "etykieta.local"\n'
                  'secret_file = ""\ntrust_proxy_user_header = "X User"\nprot = 1\n')
    assert _parse(text, None)[1] == [
        f'line {start + 1}: web.host: must be an address to listen on such as "127.0.0.1" '
        "or \"0.0.0.0\", got ''",
        f"line {start + 2}: web.port: must be between 1 and 65535, got 70000",
        f'line {start + 3}: web.public_url: must be the address users open, such as '
        "\"https://etykieta.um.example.pl/\", got 'etykieta.local'",
        f"line {start + 4}: web.secret_file: must be a file path (leave the key out for "
        "'var/web-secret')",
        f'line {start + 5}: web.trust_proxy_user_header: must be an HTTP header name such as '
        "\"X-Remote-User\", got 'X User'",
        f"line {start + 6}: web.prot: unknown key 'prot' (did you mean 'port'?)",
    ]



def test_report_thresholds_default_to_90_and_80_and_are_read() -> None:
    assert parse_settings(LAB).reports == ReportSettings(green_pct=90.0, amber_pct=80.0)
    assert parse_settings(LAB + "\n[reports]\ngreen_pct = 85\namber_pct = 70.5\n").reports \
        == ReportSettings(green_pct=85.0, amber_pct=70.5)


def test_bad_report_thresholds_are_reported_with_their_line() -> None:
    start = len(LAB.splitlines()) + 2
    assert _parse(LAB + "\n[reports]\ngreen_pct = 120\n", None)[1] == [
        f"line {start + 1}: reports.green_pct: must be a percentage, at most 100, got 120"]
    problems = _parse(LAB + "\n[reports]\ngreen_pct = 70\namber_pct = 80\n", None)[1]
    assert problems == [f"line {start + 2}: reports.amber_pct: must not be above green_pct "
                        "(70), got 80"]
    assert _parse(LAB + "\n[reports]\namber_pct = -1\n", None)[1][0].startswith(
        f"line {start + 1}: reports.amber_pct: ")
