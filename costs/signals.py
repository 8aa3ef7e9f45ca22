"""What the cost store tells the stages after it, without knowing them."""

from django.dispatch import Signal

# Sent by costs/rollup.py refresh() once an organisation's days START..END changed (sync,
# import, repair), inside the writer's transaction and its organisation's turn: receivers
# (allocation's rollups) recompute those days and commit, or fail, with the write.
store_changed = Signal()  # organization, start, end

# Sent by costs/partitions.py drop_expired() when COST_RETENTION_MONTHS removes the days before
# BEFORE (a date), inside the retention's transaction: receivers delete what they derived from
# those days (or, when DRY_RUN, only count it) and return {"what": rows} for the report.
store_expired = Signal()  # before, dry_run
