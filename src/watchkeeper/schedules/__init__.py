"""On-call schedules: rotations, layers, overrides, iCal in/out, final schedule, quality.

The pure core, no database or HTTP:

- ``model``: immutable schedule definitions (``ScheduleDefinition``, ``Layer``,
  ``CalendarLayer``, ``Rotation``, ``Restriction``, ``Override``, ``ExplicitShift``).
- ``resolve``: ``final_shifts`` (who is on call when, gaps included) and ``on_call_at``.
- ``ical_import`` (with ``ical_text``): .ics feeds → ``ExplicitShift`` rows.
- ``ical_export``: final shifts → schedule and "my shifts" feeds.
- ``quality``: the schedule health report and its score.
"""
