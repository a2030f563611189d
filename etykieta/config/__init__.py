"""Configuration: one TOML file, validated into frozen dataclasses.

``load_settings()`` reads it (see its docstring for where it looks); ``check_config()`` lists
problems without raising. Who is at a number — the rules built on these settings — is
:class:`etykieta.telephony.numbers.Directory`.
"""

from .loader import (
    check_config,
    config_in_use,
    example_config,
    load_settings,
    parse_settings,
)
from .locator import LineLocator
from .model import (
    BusinessHours,
    CallbackPolicy,
    CaptureSettings,
    ExtensionRange,
    GreetingSettings,
    NameForm,
    NonPerson,
    NonPersonKind,
    Organisation,
    PbxSettings,
    RemindWho,
    ReportSettings,
    RingCadence,
    Settings,
    SmtpSecurity,
    SmtpSettings,
    SpeechSettings,
    Staff,
    Unit,
    WebSettings,
    WeeklyAt,
)

__all__ = [
    "BusinessHours",
    "CallbackPolicy",
    "CaptureSettings",
    "ExtensionRange",
    "GreetingSettings",
    "LineLocator",
    "NameForm",
    "NonPerson",
    "NonPersonKind",
    "Organisation",
    "PbxSettings",
    "RemindWho",
    "ReportSettings",
    "RingCadence",
    "Settings",
    "SmtpSecurity",
    "SmtpSettings",
    "SpeechSettings",
    "Staff",
    "Unit",
    "WebSettings",
    "WeeklyAt",
    "check_config",
    "config_in_use",
    "example_config",
    "load_settings",
    "parse_settings",
]
