"""``[smtp]``, ``[reports] weekly_at`` and the callback reminders' keys, each checked with its
line."""

from __future__ import annotations

import datetime as dt

from etykieta.config import (
    RemindWho,
    SmtpSecurity,
    SmtpSettings,
    WeeklyAt,
    parse_settings,
)
from etykieta.config.loader import _parse

from ..conftest import LAB_CONFIG

LAB = LAB_CONFIG.read_text()
START = len(LAB.splitlines()) + 2  # the line of the table header appended below


def test_without_smtp_nothing_is_configured_and_the_defaults_hold() -> None:
    settings = parse_settings(LAB)
    assert settings.smtp == SmtpSettings() and not settings.smtp.configured
    assert settings.reports.weekly_at == WeeklyAt(0, dt.time(7, 0))
    assert str(settings.reports.weekly_at) == "mon 07:00"
    assert settings.callbacks.remind_before_business_minutes is None
    assert settings.callbacks.remind is RemindWho.STAFF


def test_the_issue_s_smtp_table_is_read_as_written() -> None:
    smtp = parse_settings(LAB + '\n[smtp]\nhost = "smtp.um.example.pl"\nport = 587\n'
                          'security = "starttls"\nusername = "etykieta"\n'
                          'password_file = "/etc/etykieta/smtp-password"\n'
                          'sender = "Etykieta <etykieta@um.example.pl>"\n').smtp
    assert smtp == SmtpSettings("smtp.um.example.pl", 587, SmtpSecurity.STARTTLS, "etykieta",
                                "/etc/etykieta/smtp-password",
                                "Etykieta <etykieta@um.example.pl>")
    assert smtp.configured


def test_the_port_follows_the_security_when_left_out() -> None:
    text = LAB + '\n[smtp]\nhost = "10.0.0.25"\nsecurity = "{}"\nsender = "e@um.example.pl"\n'
    assert parse_settings(text.format("ssl")).smtp.port == 465
    assert parse_settings(text.format("none")).smtp.port == 587
    assert parse_settings(text.format("starttls")).smtp.ca_file is None


def test_weekly_at_and_reminders_are_read() -> None:
    text = LAB.replace("[callbacks]\n", '[callbacks]\nremind_before_business_minutes = 60\n'
                       'remind = "supervisors"\n')
    settings = parse_settings(text + '\n[reports]\nweekly_at = "Fri 16:30"\n')
    assert settings.reports.weekly_at == WeeklyAt(4, dt.time(16, 30))
    assert settings.callbacks.remind_before_business_minutes == 60.0
    assert settings.callbacks.remind is RemindWho.SUPERVISORS


def test_a_password_in_the_config_is_an_error_that_says_where_it_goes() -> None:
    text = (LAB + '\n[smtp]\nhost = "smtp.um.example.pl"\nsender = "e@um.example.pl"\n'
            'username = "etykieta"\npassword = "tajne"\n')
    assert _parse(text, None)[1] == [
        f"line {START + 3}: smtp.username: needs password_file (the file that holds the "
        "password)",
        f"line {START + 4}: smtp.password: the password must not be written in the "
        "configuration: put it in a file only etykieta can read and name that file in "
        "password_file"]


def test_every_bad_smtp_key_is_reported_with_its_line() -> None:
    text = (LAB + '\n[smtp]\nhost = "smtp um"\nport = 0\nsecurity = "tls"\n'
            'password_file = "/etc/p"\nsender = "Etykieta <etykieta>"\nca_file = ""\n'
            'sendr = "x"\n')
    assert _parse(text, None)[1] == [
        f'line {START + 1}: smtp.host: must be a host name or address such as '
        "\"smtp.um.example.pl\", got 'smtp um'",
        f"line {START + 2}: smtp.port: must be between 1 and 65535, got 0",
        f'line {START + 3}: smtp.security: must be "starttls", "ssl" or "none", got \'tls\'',
        f"line {START + 4}: smtp.password_file: needs username (whose password it holds)",
        f'line {START + 5}: smtp.sender: must be an address such as "Etykieta '
        "<etykieta@um.example.pl>\" or etykieta@um.example.pl, got 'Etykieta <etykieta>'",
        f"line {START + 6}: smtp.ca_file: must not be empty (leave the key out instead)",
        f"line {START + 7}: smtp.sendr: unknown key 'sendr' (did you mean 'sender'?)",
    ]


def test_an_smtp_table_needs_host_and_sender() -> None:
    assert _parse(LAB + "\n[smtp]\nport = 25\n", None)[1] == [
        f"line {START}: smtp.host: required key is missing",
        f"line {START}: smtp.sender: required key is missing"]


def test_bad_weekly_at_and_reminder_keys_are_reported_with_their_lines() -> None:
    callbacks = LAB.splitlines().index("[callbacks]") + 1
    text = LAB.replace("[callbacks]\n", '[callbacks]\nremind_before_business_minutes = 0\n'
                       'remind = "all"\n')
    problems = _parse(text + '\n[reports]\nweekly_at = "pon 7:00"\n', None)[1]
    assert problems == [
        f"line {callbacks + 1}: callbacks.remind_before_business_minutes: must be > 0, got 0",
        f'line {callbacks + 2}: callbacks.remind: must be "staff" or "supervisors", got \'all\'',
        f'line {START + 3}: reports.weekly_at: must be a day and a time such as "mon 07:00" '
        "(days: mon, tue, wed, thu, fri, sat, sun), got 'pon 7:00'"]
    assert _parse(LAB + '\n[reports]\nweekly_at = "mon 24:00"\n', None)[1][0].startswith(
        f"line {START + 1}: reports.weekly_at: must be a day and a time")
