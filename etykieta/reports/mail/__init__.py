"""The mail face: the weekly personal summaries, the unit's week for its supervisors, and
callback reminders (issue 11), built from the same reports layer as the dashboard."""
