"""What the cost store tells the stages after it, without knowing them."""

from django.dispatch import Signal

# Sent by costs/rollup.py refresh() once an organisation's days START..END changed (sync,
# import, repair), inside the writer's transaction and its organisation's turn: receivers
# (allocation's rollups) recompute those days and commit, or fail, with the write.
store_changed = Signal()  # organization, start, end
