"""The actions' admin pages (log, schedules); Stop/Start on the Instances and Recommendations."""

from actions.admin import instances, log, schedules  # noqa: F401
