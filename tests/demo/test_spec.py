"""The fleet file: what a mistake in demo/data/fleet.toml is refused with, before any seeding."""

import pytest

from demo.spec import FLEET_FILE, FleetFileError, load_fleet, load_services

ACCOUNT = """
[[accounts]]
account_id = "111111111111"
name = "Production"
regions = ["us-east-1"]
environment = "production"
"""
INSTANCE = """
[[instances]]
key = "box"
name = "box-01"
account = "Production"
region = "us-east-1"
instance_type = "t3.small"
profile = "idle"
expected = "idle"
"""


def load(tmp_path, text):
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return load_fleet(path)


def test_the_demo_fleet_file_loads():
    accounts, instances, volumes, addresses = load_fleet(FLEET_FILE)
    assert [a.name for a in accounts] == ["Production", "Staging", "Development"]
    assert (len(instances), len(volumes), len(addresses)) == (10, 3, 2)


def test_a_minimal_file_gives_the_defaults(tmp_path):
    (_, (box,), volumes, addresses) = load(tmp_path, ACCOUNT + INSTANCE)
    assert box.account_id == "111111111111"
    assert (box.tags, box.metric_hours, box.memory_percent, box.auto_scaling_group) == (
        {},
        14 * 24,
        None,
        None,
    )
    assert volumes == addresses == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ACCOUNT + INSTANCE.replace('"Production"', '"Prod"'), "no account named 'Prod'"),
        (ACCOUNT + INSTANCE + 'colour = "red"\n', "unexpected keyword argument 'colour'"),
        (ACCOUNT + INSTANCE.replace('expected = "idle"', ""), "missing 1 required"),
        (ACCOUNT + INSTANCE.replace('expected = "idle"', 'expected = "sleepy"'), "verdict"),
        (ACCOUNT + INSTANCE.replace('profile = "idle"', 'profile = "lazy"'), "profile"),
        (ACCOUNT + INSTANCE + INSTANCE, "instance keys must be unique"),
        (ACCOUNT + INSTANCE.replace('"us-east-1"', '"eu-west-1"'), "not one of its account's"),
        (
            ACCOUNT
            + INSTANCE
            + '[[volumes]]\nkey = "v"\nname = "v"\naccount = "Production"\n'
            + 'region = "us-east-1"\nvolume_type = "gp3"\nsize_gib = 1\nattach_to = "bx"\n',
            "v: no instance 'bx' in its account and region",
        ),
    ],
)
def test_a_mistake_in_the_file_is_refused(tmp_path, text, message):
    with pytest.raises(FleetFileError, match=message):
        load(tmp_path, text)


BALANCER = """
[[load_balancers]]
key = "lb"
name = "lb-01"
account = "Production"
region = "us-east-1"
"""


def test_the_fleet_beyond_instances_loads_with_its_defaults(tmp_path):
    snapshots, databases, gateways, balancers = load_services(FLEET_FILE)
    assert [len(t) for t in (snapshots, databases, gateways, balancers)] == [1, 1, 1, 1]
    path = tmp_path / "fleet.toml"
    path.write_text(ACCOUNT + BALANCER)
    assert load_services(path) == ((), (), (), (load_services(path)[3][0],))
    (balancer,) = load_services(path)[3]
    assert (balancer.lb_type, balancer.account_id) == ("application", "111111111111")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ACCOUNT + BALANCER + 'lb_type = "classic"\n', "unknown load balancer type 'classic'"),
        (ACCOUNT + BALANCER.replace('"us-east-1"', '"eu-west-1"'), "not one of its account's"),
        (ACCOUNT + BALANCER + BALANCER.replace("load_balancers", "nat_gateways"), "unique"),
        (ACCOUNT + BALANCER.replace('"Production"', '"Prod"'), "no account named 'Prod'"),
    ],
)
def test_a_mistake_beyond_instances_is_refused(tmp_path, text, message):
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    with pytest.raises(FleetFileError, match=message):
        load_services(path)
