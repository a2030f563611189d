"""What each role may see, decided on the server for every page and API call.

- ``admin`` sees everything, callers' numbers whole.
- ``supervisor`` sees the units they were given (``users add --unit``) and the staff in them;
  another unit is a 403. Callers' numbers are masked except in their own units' pending-
  callback worklist, where they are needed to call back (T7).
- ``staff`` sees only the calls that rang or were answered at their extension, masked, and
  their own unit's pending-callback worklist with the numbers to call back; unit figures and
  other units are a 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException

from ...config import Settings, Staff
from ...storage.users import Role, UserView
from ...telephony.numbers import Directory
from ..privacy import NumberPolicy


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in user of a request, and what follows from their role."""

    user: UserView
    settings: Settings
    directory: Directory

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def name(self) -> str:
        person = self.directory.staff_at(self.user.extension or "")
        return person.full_name if person is not None else self.user.username

    @property
    def units(self) -> tuple[str, ...]:
        """The configured units this viewer sees whole, in config order (none for staff)."""
        if self.role is Role.ADMIN:
            return tuple(unit.name for unit in self.settings.units)
        if self.role is Role.SUPERVISOR:
            return tuple(u.name for u in self.settings.units if u.name in self.user.units)
        return ()

    @property
    def extension(self) -> str | None:
        """The one extension whose calls a staff member sees; None for everyone else."""
        return self.user.extension if self.role is Role.STAFF else None

    def may_see_unit(self, name: str) -> bool:
        return self.role is Role.ADMIN or name in self.units

    def require(self, *roles: Role) -> None:
        """403 unless the viewer has one of ``roles``."""
        if self.role not in roles:
            raise HTTPException(403)

    def unit(self, value: str | None) -> str | None:
        """The unit a request names (name or alias): 404 if there is none, 403 if not theirs."""
        if not value:
            return None
        unit = self.directory.unit_named(value)
        if unit is None:
            raise HTTPException(404, f"no unit is called {value!r}")
        if not self.may_see_unit(unit.name):
            raise HTTPException(403)
        return unit.name

    def person(self, extension: str) -> Staff:
        """The employee at ``extension`` whose figures are asked for: 404 if none is configured
        there, 403 unless the viewer is an admin, the supervisor of their unit or themselves."""
        person = self.directory.staff_at(extension)
        if person is None:
            raise HTTPException(404, f"no employee at extension {extension!r}")
        if self.role is Role.STAFF:
            if self.user.extension != person.extension:
                raise HTTPException(403)
        elif not self.may_see_unit(person.unit):
            raise HTTPException(403)
        return person

    def call_scope(self, unit: str | None) -> tuple[str | None, Sequence[str] | None, str | None]:
        """``(unit, units, extension)`` for ``list_calls``: what this viewer's call lists hold."""
        if self.role is Role.ADMIN:
            return unit, None, None
        if self.role is Role.SUPERVISOR:
            return unit, (None if unit else self.units), None
        if unit is not None:
            raise HTTPException(403)
        return None, None, self.extension

    @property
    def own_unit(self) -> str | None:
        """A staff member's unit (of their extension in ``[[staff]]``); None for the others."""
        person = self.directory.staff_at(self.extension) if self.extension else None
        return person.unit if person is not None else None

    def worklist_units(self, value: str | None) -> tuple[str | None, Sequence[str] | None]:
        """``(unit, units)`` of the pending-callback worklist a request asks for: an admin's
        any (None: all), a supervisor's their units, an employee's their own unit — they are
        the ones who call back (T7). Another unit is a 403."""
        if self.role is Role.STAFF:
            own = self.own_unit
            if own is None:
                raise HTTPException(403)
            named = self.directory.unit_named(value) if value else None
            if value and (named is None or named.name != own):
                raise HTTPException(403)
            return own, (own,)
        unit = self.unit(value)
        if unit is not None:
            return unit, (unit,)
        return None, (self.units if self.role is Role.SUPERVISOR else None)

    def numbers(self, *, worklist: bool = False) -> NumberPolicy:
        """How numbers are shown: whole to admins, and in the pending-callback worklist (which
        holds only the viewer's own units' duties) to supervisors and staff, who call back;
        masked otherwise."""
        full = self.role is Role.ADMIN or worklist
        return NumberPolicy(self.directory, self.settings.organisation.country_code, full)
