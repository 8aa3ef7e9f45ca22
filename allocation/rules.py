"""A dimension's rules, checked and compiled into one function: a cost's value, or its split.

A cost here is what the store knows about a group of records: the sub-account, the service,
the FOCUS charge category and the values of the tag keys the rules read. Rules are tried in
order and the first that gives a value wins:

- tag:       the tag's value, trimmed and lower-cased, then through the aliases
             ({"plat": "platform"}); an empty or missing tag gives nothing;
- account:   the value the mapping gives the account ID, if it lists it;
- service:   the value the mapping gives the service, if it lists it;
- dimension: the value the mapping gives another dimension's value for the same cost (so
             "Business unit" can follow "Team"); a cycle of such rules is refused.

Shared-cost splits come first: a cost a split matches (by service, account or charge
category; with only_unallocated, only when no rule gives it a value) is that split's, and
allocation/engine.py divides it among the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from accounts.models import CloudAccount
from allocation.models import AllocationRule, Dimension, SharedCostSplit, percent_total
from costs.models import CostRecord

Kind = AllocationRule.Kind
MAX_VALUE = 128


@dataclass(frozen=True)
class Cost:
    sub_account_id: str
    service: str
    charge_category: str
    tags: tuple[tuple[str, str], ...]  # (key, raw value) of the keys the rules read

    def tag(self, key: str) -> str:
        return dict(self.tags).get(key, "")


def normalized(raw) -> str:
    return " ".join(str(raw).split()).casefold()[:MAX_VALUE] if raw is not None else ""


# --- Validation (the models' clean()) -----------------------------------------------------------


def _mapping_errors(mapping) -> str:
    if not isinstance(mapping, dict):
        return 'The mapping is a JSON object: {"raw value": "value"}.'
    for raw, value in mapping.items():
        if not isinstance(value, str) or not value.strip():
            return f"The mapping gives {raw!r} no value: every entry needs a non-empty text."
        if len(value) > MAX_VALUE:
            return f"{value[:20]!r}... is longer than {MAX_VALUE} characters."
    return ""


def validate_rule(rule: AllocationRule) -> None:
    errors = {}
    problem = _mapping_errors(rule.mapping)
    if problem:
        errors["mapping"] = problem
    if rule.kind == Kind.TAG and not rule.tag_key:
        errors["tag_key"] = "A tag rule needs the tag key it reads."
    if rule.kind != Kind.TAG and rule.tag_key:
        errors["tag_key"] = "Only a tag rule reads a tag key."
    if rule.kind in (Kind.ACCOUNT, Kind.SERVICE, Kind.DIMENSION) and not rule.mapping:
        errors["mapping"] = "This rule gives a value only to what its mapping lists: list some."
    if rule.kind == Kind.ACCOUNT and isinstance(rule.mapping, dict):
        unknown = [a for a in rule.mapping if not (str(a).isdigit() and len(str(a)) == 12)]
        if unknown:
            errors["mapping"] = f"Not 12-digit AWS account IDs: {', '.join(map(str, unknown))}."
    if rule.kind == Kind.DIMENSION:
        source = rule.source_dimension
        if source is None:
            errors["source_dimension"] = "A dimension rule needs the dimension it maps."
        elif rule.dimension_id and source.organization_id != rule.dimension.organization_id:
            errors["source_dimension"] = "That dimension belongs to another organisation."
        elif rule.dimension_id and cycle(rule.dimension, source):
            errors["source_dimension"] = (
                f"{source} already takes values from {rule.dimension} (directly or through "
                "another dimension): the rules would go round in a circle."
            )
    elif rule.source_dimension_id:
        errors["source_dimension"] = "Only a dimension rule maps another dimension."
    if errors:
        raise ValidationError(errors)


def cycle(dimension: Dimension, source: Dimension) -> bool:
    """Whether SOURCE's values come from DIMENSION, at any depth (or SOURCE is DIMENSION)."""
    seen, todo = set(), [source.pk]
    while todo:
        current = todo.pop()
        if current == dimension.pk:
            return True
        if current in seen:
            continue
        seen.add(current)
        todo += list(
            AllocationRule.objects.filter(dimension_id=current, kind=Kind.DIMENSION).values_list(
                "source_dimension_id", flat=True
            )
        )
    return False


def _percentage(raw) -> Decimal:
    """A finite number (NaN and Infinity are not percentages, and neither is True)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TypeError(raw)
    number = Decimal(str(raw).strip())
    if not number.is_finite():
        raise ValueError(raw)
    return number


def validate_split(split: SharedCostSplit) -> None:
    errors = {}
    for field in ("services", "accounts", "charge_categories"):
        value = getattr(split, field)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors[field] = "A list of texts."
    if not errors and not (split.services or split.accounts or split.charge_categories):
        errors["services"] = "Say which costs it takes: services, accounts or charge categories."
    if split.method == SharedCostSplit.Method.FIXED:
        if not isinstance(split.percentages, dict) or not split.percentages:
            errors["percentages"] = 'A fixed split lists its values: {"payments": 60, ...}.'
        else:
            try:
                numbers = [_percentage(v) for v in split.percentages.values()]
            except (ArithmeticError, ValueError, TypeError):
                errors["percentages"] = "Every percentage is a number."
            else:
                total = percent_total(split.percentages)
                if any(n <= 0 for n in numbers):
                    errors["percentages"] = "Every percentage is above 0."
                elif total != 100:
                    errors["percentages"] = f"The percentages add up to {total}, not 100."
    elif split.percentages:
        errors["percentages"] = "Only a fixed split has percentages."
    if split.dimension_id and not split.dimension.rules.exists():
        errors["dimension"] = (
            f"{split.dimension} has no rules yet, so no value to split among: add its rules first."
        )
    if errors:
        raise ValidationError(errors)


def unknown_accounts(dimension: Dimension) -> list[str]:
    """Account IDs the account rules map that the organisation neither connects nor has spend
    of (e.g. a deleted account): a warning, since history may still hold their spend."""
    mapped = set()
    for mapping in dimension.rules.filter(kind=Kind.ACCOUNT).values_list("mapping", flat=True):
        mapped.update(str(a) for a in mapping)
    if not mapped:
        return []
    org = dimension.organization_id
    connected = set(
        CloudAccount.objects.filter(organization_id=org, account_id__in=mapped).values_list(
            "account_id", flat=True
        )
    )
    spending = set(
        CostRecord.objects.filter(organization_id=org, sub_account_id__in=mapped - connected)
        .values_list("sub_account_id", flat=True)
        .distinct()
    )
    return sorted(mapped - connected - spending)


def unknown_tag_keys(dimension: Dimension, known: set[str]) -> list[str]:
    """The tag keys DIMENSION's rules read that the store has never seen (a warning)."""
    keys = dimension.rules.filter(kind=Kind.TAG).values_list("tag_key", flat=True)
    return sorted({k for k in keys if k not in known})


# --- Compiled rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledSplit:
    pk: int
    name: str
    method: str
    services: frozenset
    accounts: frozenset
    charge_categories: frozenset
    only_unallocated: bool
    percentages: tuple[tuple[str, Decimal], ...]

    def takes(self, cost: Cost, has_value: bool) -> bool:
        if self.only_unallocated and has_value:
            return False
        return (
            cost.service in self.services
            or cost.sub_account_id in self.accounts
            or cost.charge_category in self.charge_categories
        )


class Rules:
    """DIMENSION's rules and splits, loaded once: value_of() and split_of() per cost."""

    @classmethod
    def by_tag(cls, key: str) -> Rules:
        """One tag rule, no split: what `group_by=tag:<key>` asks for."""
        rules = cls.__new__(cls)
        rules.dimension, rules.splits, rules._cache = None, [], {}
        rules.steps = [(Kind.TAG, key, {})]
        return rules

    def __init__(self, dimension: Dimension, _seen: frozenset = frozenset()):
        if dimension.pk in _seen:
            raise ValidationError(f"The rules of {dimension} go round in a circle.")
        self.dimension = dimension
        self.steps = []
        for rule in dimension.rules.select_related("source_dimension").order_by("position"):
            aliases = {normalized(k): v.strip() for k, v in (rule.mapping or {}).items()}
            if rule.kind == Kind.DIMENSION:
                source = Rules(rule.source_dimension, _seen | {dimension.pk})
                self.steps.append((rule.kind, source, aliases))
            else:
                self.steps.append((rule.kind, rule.tag_key, aliases))
        self.splits = [
            CompiledSplit(
                s.pk,
                s.name,
                s.method,
                frozenset(s.services),
                frozenset(s.accounts),
                frozenset(s.charge_categories),
                s.only_unallocated,
                tuple((k, Decimal(str(v))) for k, v in sorted(s.percentages.items())),
            )
            for s in dimension.splits.order_by("position", "name")
        ]
        self._cache: dict[Cost, tuple[str | None, CompiledSplit | None]] = {}

    @property
    def tag_keys(self) -> set[str]:
        keys = set()
        for kind, what, _ in self.steps:
            if kind == Kind.TAG:
                keys.add(what)
            elif kind == Kind.DIMENSION:
                keys |= what.tag_keys
        return keys

    def value_of(self, cost: Cost) -> str | None:
        for kind, what, mapping in self.steps:
            if kind == Kind.TAG:
                raw = normalized(cost.tag(what))
                if raw:
                    return mapping.get(raw, raw)
            elif kind == Kind.ACCOUNT:
                if cost.sub_account_id in mapping:
                    return mapping[cost.sub_account_id]
            elif kind == Kind.SERVICE:
                value = mapping.get(normalized(cost.service))
                if value:
                    return value
            else:
                source = what.value_of(cost)
                value = mapping.get(normalized(source)) if source else None
                if value:
                    return value
        return None

    def classify(self, cost: Cost) -> tuple[str | None, CompiledSplit | None]:
        """(value, None) for a cost the rules allocate, (None, split) for a shared one."""
        found = self._cache.get(cost)
        if found is None:
            value = self.value_of(cost)
            split = next((s for s in self.splits if s.takes(cost, value is not None)), None)
            found = (None, split) if split else (value, None)
            self._cache[cost] = found
        return found
