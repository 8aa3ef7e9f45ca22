"""The demo fleet in the emulator's EC2: instances, an Auto Scaling group, volumes, Elastic IPs.

Every resource is tagged with its demo key (DEMO_KEY_TAG), its Name and its account's
Environment: a second seed finds the instances by that tag and leaves the account alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from demo.emulator import AccountClients, DemoSeedError
from demo.spec import DEMO_KEY_TAG, DemoAccount, DemoAddress, DemoInstance, DemoVolume


def existing_demo_instances(client: AccountClients, account: DemoAccount) -> dict[str, str]:
    """{demo key: instance id} of the demo instances a previous seed left in the account."""
    found = {}
    for region in account.regions:
        paginator = client("ec2", region).get_paginator("describe_instances")
        pages = paginator.paginate(
            Filters=[
                {"Name": "tag-key", "Values": [DEMO_KEY_TAG]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
            ]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                    found[tags[DEMO_KEY_TAG]] = instance["InstanceId"]
    return found


def demo_tags(
    account: DemoAccount, key: str, name: str, extra: Mapping[str, str] | None = None
) -> list[dict]:
    tags = {"Name": name, "Environment": account.environment, DEMO_KEY_TAG: key, **(extra or {})}
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def demo_image(ec2) -> str:
    # The newest Amazon Linux 2023 image, looked up the way a user would rather than pinned,
    # so the seed also works with moto's AMI validation switched on.
    images = ec2.describe_images(
        Owners=["amazon"],
        Filters=[
            {"Name": "name", "Values": ["al2023-ami-2023.*-x86_64"]},
            {"Name": "state", "Values": ["available"]},
        ],
    )["Images"]
    if not images:
        raise DemoSeedError("The emulator lists no Amazon Linux 2023 image to launch from.")
    return max(images, key=lambda image: (image.get("CreationDate", ""), image["ImageId"]))[
        "ImageId"
    ]


# gp3 roots, as today's AMIs default to: the only gp2 volume in the demo is the deliberate one.
_ROOT_VOLUME = [
    {
        "DeviceName": "/dev/xvda",
        "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True},
    }
]


def _root_volume_tags(account: DemoAccount, member: DemoInstance) -> list[dict]:
    return demo_tags(account, f"{member.key}-root", f"{member.name}-root", member.tags)


def launch_instance(ec2, account: DemoAccount, member: DemoInstance, image_id: str) -> str:
    response = ec2.run_instances(
        ImageId=image_id,
        InstanceType=member.instance_type,
        MinCount=1,
        MaxCount=1,
        BlockDeviceMappings=_ROOT_VOLUME,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": demo_tags(account, member.key, member.name, member.tags),
            },
            {"ResourceType": "volume", "Tags": _root_volume_tags(account, member)},
        ],
    )
    return response["Instances"][0]["InstanceId"]


def launch_asg_member(
    client: AccountClients, account: DemoAccount, member: DemoInstance, image_id: str
) -> str:
    ec2 = client("ec2", member.region)
    template_name = f"{member.auto_scaling_group}-template"
    ec2.create_launch_template(
        LaunchTemplateName=template_name,
        LaunchTemplateData={
            "ImageId": image_id,
            "InstanceType": member.instance_type,
            "BlockDeviceMappings": _ROOT_VOLUME,
        },
        TagSpecifications=[
            {
                "ResourceType": "launch-template",
                "Tags": demo_tags(account, member.key, template_name),
            }
        ],
    )
    # Tags propagated at launch put the Name and demo key on the instance the group starts;
    # the group itself adds aws:autoscaling:groupName.
    group_tags = [
        {**tag, "PropagateAtLaunch": True}
        for tag in demo_tags(account, member.key, member.name, member.tags)
    ]
    autoscaling = client("autoscaling", member.region)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=member.auto_scaling_group,
        LaunchTemplate={"LaunchTemplateName": template_name, "Version": "$Latest"},
        MinSize=1,
        MaxSize=3,
        DesiredCapacity=1,
        AvailabilityZones=[f"{member.region}a"],
        Tags=group_tags,
    )
    group = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[member.auto_scaling_group]
    )["AutoScalingGroups"][0]
    if len(group["Instances"]) != 1:
        raise DemoSeedError(
            f"Auto Scaling group {member.auto_scaling_group} started "
            f"{len(group['Instances'])} instances instead of 1."
        )
    instance_id = group["Instances"][0]["InstanceId"]
    _tidy_asg_volumes(ec2, account, member, instance_id)
    return instance_id


def _tidy_asg_volumes(ec2, account: DemoAccount, member: DemoInstance, instance_id: str) -> None:
    # moto gives an Auto Scaling instance its template's volumes *and* a default 8 GiB gp2
    # root on /dev/sda1. Drop that extra one so the demo's only attached gp2 volume is the
    # deliberate one, and tag the rest like every other root volume.
    volumes = ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["Volumes"]
    template_devices = {mapping["DeviceName"] for mapping in _ROOT_VOLUME}
    keep = []
    for volume in volumes:
        device = volume["Attachments"][0]["Device"]
        if device in template_devices:
            keep.append(volume["VolumeId"])
            continue
        ec2.detach_volume(VolumeId=volume["VolumeId"], InstanceId=instance_id, Force=True)
        ec2.delete_volume(VolumeId=volume["VolumeId"])
    if keep:
        ec2.create_tags(Resources=keep, Tags=_root_volume_tags(account, member))


def _availability_zone(ec2, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["Placement"]["AvailabilityZone"]


def create_volume(
    ec2, account: DemoAccount, volume: DemoVolume, instance_ids: dict[str, str]
) -> str:
    attach_to = instance_ids[volume.attach_to] if volume.attach_to else None
    zone = _availability_zone(ec2, attach_to) if attach_to else f"{volume.region}a"
    response = ec2.create_volume(
        AvailabilityZone=zone,
        Size=volume.size_gib,
        VolumeType=volume.volume_type,
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": demo_tags(account, volume.key, volume.name)}
        ],
    )
    volume_id = response["VolumeId"]
    if attach_to:
        ec2.attach_volume(VolumeId=volume_id, InstanceId=attach_to, Device="/dev/sdf")
    return volume_id


def allocate_address(
    ec2, account: DemoAccount, address: DemoAddress, instance_ids: dict[str, str]
) -> str:
    response = ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": demo_tags(account, address.key, address.name)}
        ],
    )
    allocation_id = response["AllocationId"]
    if address.associate_with:
        ec2.associate_address(
            AllocationId=allocation_id, InstanceId=instance_ids[address.associate_with]
        )
    return allocation_id
