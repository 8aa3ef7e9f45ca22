"""The actions' admin pages, and Stop/Start on the Instances and Recommendations pages."""

from actions.admin import instances, log  # noqa: F401
