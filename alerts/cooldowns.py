"""Race-safe claims of a cooldown row, shared by e-mail and channel delivery.

A cooldown is one row per key whose `until` says when it is free again. Taking it is a
conditional UPDATE of a free row, or else an INSERT that the key's unique constraint lets
only one process win; whoever loses looks again once, since the row may have been freed or
created between the two statements.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.db.models import Q


def claim(model: type[models.Model], key: dict, values: dict, free: Q) -> bool:
    """Set VALUES on MODEL's row with KEY if it matches FREE, or create it; False if held."""
    for _ in range(2):
        if model.objects.filter(free, **key).update(**values):
            return True
        try:
            with transaction.atomic():
                model.objects.create(**key, **values)
            return True
        except IntegrityError:
            continue
    return False
