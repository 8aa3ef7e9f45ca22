"""Previous-generation and Graviton moves for running instances, at the same size.

Old generation: t2 → t3, m4 → m6i, c4 → c6i, r4 → r6i, the families the issue names (AWS's
"previous generation" types still widely run); the current-generation type of the same size
has at least the vCPUs and memory of the old one, so no fit check is needed.

Graviton: an x86 instance of a current family → the arm64 family of the same role and size
(t3/t3a → t4g, m5/m5a/m6i/m7i → m7g, c5/c6i/c7i → c7g, r5/r6i/r7i → r7g), only where the
platform runs on arm64: Linux platforms (Linux/UNIX, Red Hat, SUSE, Ubuntu Pro), not Windows
and not SQL Server (which AWS offers on x86 only). The AMI and the software must be built for
arm64: the evidence says so.

Either is offered only when both prices are known and the target is cheaper, and only for a
running instance idle detection found in use ("not_idle"): never for an idle-like one (idle,
protected, idle Auto Scaling member: it gets the stop advice), one without enough data (it may
be idle), one not on demand (spot prices move on their own) or one with the protect tag.
An Auto Scaling member is offered the move through its launch template, like rightsizing.

One instance gets at most one of rightsize, old_generation and graviton: findings.rightsizing
applies the moves to its own target and calls generation_finding() only when it recommends no
resize; an old-generation instance gets old_generation (with the Graviton alternative in its
evidence), any other x86 instance graviton.
"""

from __future__ import annotations

from datetime import date

from costs.money import money
from findings import idle, resource_savings
from findings.idle import Verdict
from findings.models import Recommendation
from findings.recommendations import Finding

OLD_GENERATION = {"t2": "t3", "m4": "m6i", "c4": "c6i", "r4": "r6i"}
GRAVITON = {
    "t3": "t4g",
    "t3a": "t4g",
    "m5": "m7g",
    "m5a": "m7g",
    "m6i": "m7g",
    "m7i": "m7g",
    "c5": "c7g",
    "c6i": "c7g",
    "c7i": "c7g",
    "r5": "r7g",
    "r6i": "r7g",
    "r7i": "r7g",
}
ARM64_NOTE = (
    "Graviton is arm64: the AMI and every binary on the instance must be built for arm64 "
    "(most Linux distributions and managed runtimes are) before moving"
)


def _split(instance_type: str) -> tuple[str, str]:
    family, _, size = instance_type.partition(".")
    return family, size


def current_generation(instance_type: str) -> str | None:
    """The same size in the current-generation family, for an old-generation type."""
    family, size = _split(instance_type)
    target = OLD_GENERATION.get(family)
    return f"{target}.{size}" if target and size else None


def graviton_equivalent(instance_type: str) -> str | None:
    """The same size in the Graviton family of the type's role (old generations included)."""
    family, size = _split(instance_type)
    target = GRAVITON.get(OLD_GENERATION.get(family, family))
    return f"{target}.{size}" if target and size else None


def platform_allows_arm(instance) -> bool:
    platform = instance.platform or ""
    return "Linux" in platform and "Windows" not in platform and "SQL Server" not in platform


def eligible(instance, settings) -> str | None:
    """Why INSTANCE gets no type-change advice, or None when it may get one."""
    if instance.state != "running":
        return f"not running ({instance.state})"
    if instance.verdict in Verdict.IDLE_LIKE:
        return f"idle detection says {instance.verdict}: stopping supersedes a type change"
    if instance.verdict != Verdict.NOT_IDLE:
        # Without enough data the instance may be idle: a type change would be premature.
        return f"idle detection says {instance.verdict or 'nothing yet'}"
    if instance.lifecycle != "on-demand":
        return f"a {instance.lifecycle} instance"
    if idle.is_protected(instance, settings):
        return "protected by tag"
    return None


def cheaper(instance, target_type: str | None) -> bool:
    if not target_type:
        return False
    current, target = resource_savings.ec2_prices(instance, target_type)
    return current is not None and target is not None and target.amount < current.amount


def alternative(account, instance, target_type: str, today: date) -> dict:
    """A move to TARGET_TYPE as evidence: its saving from the current type and its caveat."""
    saving, basis, saving_evidence = resource_savings.type_change_saving(
        account, instance, target_type, today
    )
    return {
        "type": target_type,
        "monthly_saving": money(saving),
        "saving_basis": basis,
        "saving": saving_evidence,
        "note": ARM64_NOTE,
    }


def modern_target(instance, target_type: str) -> str:
    """TARGET_TYPE, or its current-generation equivalent when that is known and no dearer."""
    modern = current_generation(target_type)
    if not modern:
        return target_type
    old = resource_savings.ec2_prices(instance, target_type)[1]
    new = resource_savings.ec2_prices(instance, modern)[1]
    if old is None or new is None or new.amount > old.amount:
        return target_type
    return modern


def graviton_alternative(account, instance, from_type: str, today: date) -> dict | None:
    """The Graviton move for FROM_TYPE's role, if the platform allows and it is cheaper."""
    if not platform_allows_arm(instance):
        return None
    target = graviton_equivalent(from_type)
    if not cheaper(instance, target):
        return None
    return alternative(account, instance, target, today)


def _how(instance, target_type: str) -> str:
    if instance.auto_scaling_group:
        return (
            f"Change the launch template (instance type) of Auto Scaling group "
            f"{instance.auto_scaling_group} to {target_type} and roll the group with an "
            "instance refresh"
        )
    return (
        f"Stop the instance, change its type to {target_type} and start it again (a few minutes "
        "of downtime)"
    )


def generation_finding(account, instance, settings, today: date) -> Finding | None:
    """old_generation, else graviton, for INSTANCE; None when neither applies."""
    if eligible(instance, settings) is not None:
        return None
    modern = current_generation(instance.instance_type)
    if modern and cheaper(instance, modern):
        return _finding(account, instance, Recommendation.Kind.OLD_GENERATION, modern, today)
    if platform_allows_arm(instance):
        arm = graviton_equivalent(instance.instance_type)
        if cheaper(instance, arm):
            return _finding(account, instance, Recommendation.Kind.GRAVITON, arm, today)
    return None


def _finding(account, instance, kind: str, target_type: str, today: date) -> Finding:
    saving, basis, saving_evidence = resource_savings.type_change_saving(
        account, instance, target_type, today
    )
    evidence = {
        "current_type": instance.instance_type,
        "target_type": target_type,
        "platform": instance.platform,
        "lifecycle": instance.lifecycle,
        "saving": saving_evidence,
    }
    how = _how(instance, target_type)
    where = (
        f" in Auto Scaling group {instance.auto_scaling_group}"
        if instance.auto_scaling_group
        else ""
    )
    if kind == Recommendation.Kind.OLD_GENERATION:
        arm = graviton_alternative(account, instance, instance.instance_type, today)
        evidence["graviton_alternative"] = arm
        summary = (
            f"{instance}{where} runs previous-generation {instance.instance_type}: "
            f"{target_type} costs less for the same size"
        )
        action = f"{how}. Check the AMI supports {target_type} (ENA and NVMe drivers)."
        if arm:
            action += f" Cheaper still if the software runs on arm64: {arm['type']} (Graviton)."
    else:
        evidence["architecture_note"] = ARM64_NOTE
        summary = (
            f"{instance}{where} ({instance.instance_type}, x86) would cost less on Graviton "
            f"{target_type}"
        )
        action = f"{how}, with an arm64 AMI. {ARM64_NOTE}."
    return Finding(
        kind=kind,
        resource_id=instance.instance_id,
        region=instance.region,
        summary=summary,
        action=action,
        monthly_saving=saving,
        saving_basis=basis,
        evidence=evidence,
        target_type=target_type,
        instance_pk=instance.pk,
    )
