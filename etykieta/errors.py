"""The exceptions Etykieta raises on purpose.

Misuse of the API and configuration mistakes raise; traffic from the network that does not
parse never raises out of the core: it becomes a counter (see ``telephony.pipeline``).
"""


class EtykietaError(Exception):
    """Base class of every error Etykieta reports to a user."""


class ConfigError(EtykietaError):
    """The configuration file is invalid; ``problems`` lists each error with its line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class CaptureFormatError(EtykietaError, ValueError):
    """A file is not a pcap or pcapng capture (or its header is unreadable)."""


class CaptureUnavailableError(EtykietaError):
    """A live capture cannot start: no tcpdump, no such interface, no permission, bad filter."""
