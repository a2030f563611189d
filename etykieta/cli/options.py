"""Help texts of the options several commands share."""

SINCE_HELP = ("Only calls started at or after this ISO 8601 time; without an offset it is "
              "office time ([business_hours] timezone), e.g. 2026-11-23 or 2026-11-23T07:30.")
UNTIL_HELP = "Only calls started before this ISO 8601 time (office time without an offset)."
AS_OF_HELP = ("Judge callback deadlines at this ISO 8601 time (office time without an offset; "
              "default: now).")
UNIT_HELP = "Only this unit: its name or any of its aliases in the config."
