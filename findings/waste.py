"""Waste: storage and addresses that are billed while nothing uses them.

- An unattached EBS volume (state "available") costs its full price: delete it.
- A gp2 volume costs more than gp3 for the same size and baseline IOPS: migrate it, online.
- An Elastic IP that is not associated bills its hourly public IPv4 charge: release it.
- A volume attached to an instance stopped for more than stopped_volume_days costs its full
  price for an instance nobody runs: snapshot it and delete it.

One volume gets one finding. Deleting saves more than migrating, so an unattached (or
long-stopped) gp2 volume gets only the delete advice; listing both would also count its saving
twice.
"""

from __future__ import annotations

from datetime import UTC, date

from costs import pricing
from findings import savings
from findings.models import Recommendation
from findings.recommendations import Finding

Kind = Recommendation.Kind


def stopped_days(instance, today: date) -> int | None:
    """Whole days since INSTANCE stopped, or None if it is not stopped or the time is unknown."""
    if instance is None or instance.state != "stopped" or instance.state_since is None:
        return None
    return (today - instance.state_since.astimezone(UTC).date()).days


def _finding(kind, resource, resource_id, summary, action, saving, evidence=None, instance=None):
    amount, basis, saving_evidence = saving
    return Finding(
        kind=kind,
        resource_id=resource_id,
        region=resource.region,
        summary=summary,
        action=action,
        monthly_saving=amount,
        saving_basis=basis,
        evidence={**(evidence or {}), "saving": saving_evidence},
        instance_pk=instance.pk if instance is not None else None,
    )


def _volume_facts(volume) -> dict:
    return {
        "volume_type": volume.volume_type,
        "size_gib": volume.size_gib,
        "iops": volume.iops,
        "state": volume.state,
        "created_at": volume.created_at.isoformat() if volume.created_at else None,
    }


def unattached_volume(account, volume, today: date) -> Finding:
    return _finding(
        Kind.UNATTACHED_VOLUME,
        volume,
        volume.volume_id,
        f"{volume} is not attached to any instance",
        "Snapshot the volume if its data may still be needed, then delete it.",
        savings.volume_saving(account, volume, today),
        _volume_facts(volume),
    )


def stopped_instance_volume(account, volume, instance, days: int, settings, today) -> Finding:
    evidence = {
        **_volume_facts(volume),
        "instance_id": instance.instance_id,
        "instance_state": instance.state,
        "stopped_since": instance.state_since.isoformat(),
        "stopped_days": days,
        "stopped_volume_days": settings.stopped_volume_days,
    }
    return _finding(
        Kind.STOPPED_INSTANCE_VOLUME,
        volume,
        volume.volume_id,
        f"{volume} belongs to {instance}, stopped for {days} days",
        (
            f"If {instance} is no longer needed, snapshot the volume and delete it (or terminate "
            "the instance with its volumes); a snapshot can be restored to a new volume later."
        ),
        savings.volume_saving(account, volume, today),
        evidence,
        instance,
    )


def gp2_volume(account, volume, today: date) -> Finding:
    iops = pricing.gp3_equivalent_iops(volume.size_gib)
    throughput = pricing.GP3_INCLUDED_THROUGHPUT
    return _finding(
        Kind.GP2_VOLUME,
        volume,
        volume.volume_id,
        f"{volume} is gp2: gp3 costs less for the same size and baseline IOPS",
        (
            f"Modify the volume to gp3 with {iops} IOPS and {throughput} MiB/s (online, no "
            "detach or downtime); raise the throughput if the workload needs more than gp3's "
            f"included {throughput} MiB/s."
        ),
        savings.gp2_to_gp3_saving(account, volume, today),
        _volume_facts(volume),
    )


def unassociated_eip(account, address, today: date) -> Finding:
    return _finding(
        Kind.UNASSOCIATED_EIP,
        address,
        address.allocation_id,
        f"Elastic IP {address.public_ip} ({address.allocation_id}) is not associated",
        "Release the address if nothing needs it; a released address may not be recoverable.",
        savings.eip_saving(account, address, today),
        {"public_ip": address.public_ip, "allocation_id": address.allocation_id},
    )


def volume_findings(account, volume, instances_by_id: dict, settings, today) -> list[Finding]:
    if volume.state == "available":
        return [unattached_volume(account, volume, today)]
    instance = instances_by_id.get(volume.attached_instance_id)
    days = stopped_days(instance, today)
    if days is not None and days > settings.stopped_volume_days:
        return [stopped_instance_volume(account, volume, instance, days, settings, today)]
    if volume.volume_type == "gp2":
        return [gp2_volume(account, volume, today)]
    return []


def find_waste(account, volumes, addresses, instances, settings, today: date) -> list[Finding]:
    """Waste findings for ACCOUNT's volumes and addresses still present in AWS."""
    instances_by_id = {i.instance_id: i for i in instances if i.gone_at is None}
    findings = []
    for volume in volumes:
        if volume.gone_at is None:
            findings += volume_findings(account, volume, instances_by_id, settings, today)
    for address in addresses:
        if address.gone_at is None and not address.association_id:
            findings.append(unassociated_eip(account, address, today))
    return findings
