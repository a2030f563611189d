"""Configuration: one TOML file, validated into frozen dataclasses.

``load_settings()`` reads it (see its docstring for where it looks) and ``Directory`` answers
who is at a number. ``check_config()`` lists problems without raising.
"""

from etykieta.config.loader import (
    check_config,
    config_in_use,
    example_config,
    load_settings,
    parse_settings,
)
from etykieta.config.locator import LineLocator
from etykieta.config.model import (
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
    RingCadence,
    Settings,
    SpeechSettings,
    Staff,
    Unit,
)
from etykieta.config.numbers import Directory, clean_number

__all__ = [
    "BusinessHours",
    "CallbackPolicy",
    "CaptureSettings",
    "Directory",
    "ExtensionRange",
    "GreetingSettings",
    "LineLocator",
    "NameForm",
    "NonPerson",
    "NonPersonKind",
    "Organisation",
    "PbxSettings",
    "RingCadence",
    "Settings",
    "SpeechSettings",
    "Staff",
    "Unit",
    "check_config",
    "clean_number",
    "config_in_use",
    "example_config",
    "load_settings",
    "parse_settings",
]
