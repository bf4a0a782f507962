"""plan_network(desired, actual): a pure function, tested as a table (no engine)."""

from __future__ import annotations

import pytest
from ansible_collections.berth.core.plugins.module_utils import network as netmod
from ansible_collections.berth.core.plugins.module_utils.network import NetworkOptions, create_spec, plan_network
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import ABSENT, Refused

from berth.network.model import PREDEFINED, NetworkRecord

A = "a" * 64
B = "b" * 64
C = "c" * 64


def want(**kw) -> NetworkOptions:
    return parse_options(NetworkOptions, {"name": "web", **kw})


def net(containers=(), subnet="10.252.1.0/24", gateway="10.252.1.1", ip_range="", internal=False, labels=None,
        options=None, mtu=1500) -> dict:
    """A network's inspect view, as the engine makes it."""
    record = NetworkRecord(Name="web", Id="f" * 64, Created="now", Subnet=subnet, Gateway=gateway, IPRange=ip_range,
                           Internal=internal, Labels=labels or {}, Options=options or {}, Bridge="br-web", MTU=mtu)
    return record.inspect({cid: {"Name": name} for cid, name in containers})


def actual(network=None, **containers) -> dict:
    """``containers``: the names the task's ``connected`` gives -> (id, name) or None."""
    resolved = {ref: (None if v is None else {"Id": v[0], "Name": "/" + v[1]}) for ref, v in containers.items()}
    return {"network": network, "containers": resolved}


IPAM = [{"subnet": "10.252.1.0/24", "gateway": "10.252.1.1"}]
NEW_IPAM = [{"subnet": "10.252.2.0/24"}]

# (desired, actual, action kinds, fields that differ)
CASES = {
    "absent, missing": (want(state="absent"), actual(), [], []),
    "absent, there": (want(state="absent"), actual(net()), ["remove"], ["exists"]),
    "absent, containers, force": (want(state="absent", force=True), actual(net([(A, "app")])),
                                  ["disconnect", "remove"], ["exists"]),
    "missing: create": (want(ipam_config=IPAM), actual(), ["create"], ["exists", "driver", "ipam_config"]),
    "missing: create and connect": (want(connected=["app"]), actual(app=(A, "app")), ["create", "connect"],
                                    ["exists", "driver", "connected"]),
    "same": (want(ipam_config=IPAM, internal=False, labels={}), actual(net()), [], []),
    "nothing given: nothing compared": (want(), actual(net(internal=True, labels={"x": "1"})), [], []),
    "gateway only is compared": (want(ipam_config=[{"subnet": "10.252.1.0/24"}]), actual(net()), [], []),
    "bridge name given matches": (want(driver_options={"com.docker.network.bridge.name": "br-web"}),
                                  actual(net()), [], []),
    "mtu 1500 given matches the default": (want(driver_options={"com.docker.network.driver.mtu": 1500}),
                                           actual(net()), [], []),
    "subnet differs: recreate": (want(ipam_config=NEW_IPAM), actual(net()), ["recreate"], ["ipam_config"]),
    "internal differs: recreate": (want(internal=True), actual(net()), ["recreate"], ["internal"]),
    "label differs: recreate": (want(labels={"a": "1"}), actual(net()), ["recreate"], ["labels"]),
    "mtu differs: recreate": (want(driver_options={"com.docker.network.driver.mtu": "1400"}), actual(net()),
                              ["recreate"], ["driver_options"]),
    "containers, change, force: recreate": (want(internal=True, force=True), actual(net([(A, "app")])),
                                            ["recreate"], ["internal"]),
    "connect a missing one": (want(connected=["app", "db"]), actual(net([(A, "app")]), app=(A, "app"), db=(B, "db")),
                              ["connect"], ["connected"]),
    "disconnect one not listed": (want(connected=["app"]), actual(net([(A, "app"), (B, "db")]), app=(A, "app")),
                                  ["disconnect"], ["connected"]),
    "appends keeps the others": (want(connected=["cache"], appends=True),
                                 actual(net([(A, "app"), (B, "db")]), cache=(C, "cache")), ["connect"], ["connected"]),
    "connected by id": (want(connected=[A[:12]]), actual(net([(A, "app")]), **{A[:12]: (A, "app")}), [], []),
    "connected omitted: left alone": (want(), actual(net([(A, "app")])), [], []),
    "empty list: everyone leaves": (want(connected=[]), actual(net([(A, "app"), (B, "db")])),
                                    ["disconnect", "disconnect"], ["connected"]),
    "predefined, nothing to change": (want(name="bridge"), actual(net()), [], []),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case):
    desired, act, kinds, fields = CASES[case]
    plan = plan_network(desired, act)
    assert [a.kind for a in plan.actions] == kinds
    assert [d.field for d in plan.differences] == fields
    assert plan.changed == bool(kinds)


@pytest.mark.parametrize(("desired", "act", "message"), [
    (want(state="absent"), actual(net([(A, "app")])), "has containers connected (app): set force: true"),
    (want(internal=True), actual(net([(A, "app"), (B, "db")])),
     "internal cannot change in place, the network must be recreated, and containers are connected (app, db): "
     "set force: true"),
    (want(connected=["ghost"]), actual(net(), ghost=None), "connected: no such container: ghost"),
    (want(connected=["ghost"]), actual(None, ghost=None), "connected: no such container: ghost"),
    (want(name="bridge", state="absent"), actual(net()), "predefined"),
    (want(name="bridge", internal=True), actual(net()), "predefined"),
    (want(ipam_config=NEW_IPAM), {**actual(None), "subnets": {"db": "10.252.0.0/16"}},
     "ipam_config[0].subnet: 10.252.2.0/24 overlaps 10.252.0.0/16 of network db"),
    (want(ipam_config=NEW_IPAM), {**actual(net()), "subnets": {"web": "10.252.1.0/24", "db": "10.252.2.128/25"}},
     "ipam_config[0].subnet: 10.252.2.0/24 overlaps 10.252.2.128/25 of network db"),
])
def test_refusals(desired, act, message):
    with pytest.raises(Refused) as err:
        plan_network(desired, act)
    assert message in str(err.value)


def test_recreate_with_force_reconnects_those_that_stay():
    plan = plan_network(want(internal=True, force=True, connected=["app"]),
                        actual(net([(A, "app"), (B, "db")]), app=(A, "app")))
    (recreate,) = plan.actions
    assert recreate.params["reconnect"] == [A]
    assert recreate.summary == "recreate network web (disconnect app, db; reconnect app)"
    assert plan.diff() == {"before": {"internal": False, "connected": ["app", "db"]},
                           "after": {"internal": True, "connected": ["app"]}}


def test_its_own_subnet_is_no_overlap():
    plan = plan_network(want(ipam_config=IPAM), {**actual(net()), "subnets": {"web": "10.252.1.0/24"}})
    assert plan.actions == []


def test_recreate_carries_over_what_the_task_does_not_give():
    have = net(subnet="10.252.3.0/24", gateway="10.252.3.254", ip_range="10.252.3.128/25", labels={"keep": "1"},
               options={"com.docker.network.bridge.name": "br-x"}, mtu=1400)
    spec = plan_network(want(labels={"new": "2"}), actual(have)).actions[0].params["spec"]
    assert spec == {"subnet": "10.252.3.0/24", "gateway": "10.252.3.254", "ip_range": "10.252.3.128/25",
                    "internal": False, "labels": {"keep": "1", "new": "2"},
                    "options": {"com.docker.network.bridge.name": "br-x", "com.docker.network.driver.mtu": "1400"}}


def test_a_new_ipam_config_replaces_the_old_one_whole():
    spec = create_spec(want(ipam_config=NEW_IPAM), net(ip_range="10.252.1.128/25"))
    assert (spec["subnet"], spec["gateway"], spec["ip_range"]) == ("10.252.2.0/24", None, None)


def test_create_spec_and_diff_of_a_new_network():
    plan = plan_network(want(ipam_config=[{"subnet": "10.252.4.0/24", "iprange": "10.252.4.0/25"}], internal=True,
                             labels={"a": "1"}, driver_options={"com.docker.network.bridge.name": "brt1"}), actual())
    assert plan.actions[0].params == {"name": "web", "spec": {
        "subnet": "10.252.4.0/24", "gateway": None, "ip_range": "10.252.4.0/25", "internal": True,
        "labels": {"a": "1"}, "options": {"com.docker.network.bridge.name": "brt1"}}}
    assert plan.diff()["before"] == {"exists": False}
    assert plan.diff()["after"]["ipam_config"] == [{"subnet": "10.252.4.0/24", "iprange": "10.252.4.0/25"}]
    assert all(d.before is ABSENT for d in plan.differences[1:])


def test_a_subnet_difference_shows_only_the_given_fields():
    plan = plan_network(want(ipam_config=NEW_IPAM), actual(net()))
    assert plan.diff() == {"before": {"ipam_config": [{"subnet": "10.252.1.0/24"}]},
                           "after": {"ipam_config": [{"subnet": "10.252.2.0/24"}]}}


@pytest.mark.parametrize(("ipam", "where"), [
    ([{"subnet": "10.252.1.0/33"}], "option ipam_config[0].subnet: "),
    ([{"subnet": "10.252.1.1/24"}], "has host bits set"),
    ([{"subnet": "not-a-subnet"}], "option ipam_config[0].subnet: "),
    ([{"subnet": "10.252.1.0/24", "gateway": "10.252.1"}], "option ipam_config[0].gateway: "),
    ([{"subnet": "10.252.1.0/24", "iprange": "10.252.1.7/25"}], "option ipam_config[0].iprange: "),
    ([{"subnet": "10.252.1.0/24"}, {"subnet": "10.252.2.0/24"}], "option ipam_config: List should have at most 1"),
    ([{"subnet": "10.252.1.0/24", "gateway": "10.252.2.1"}],
     "option ipam_config[0]: gateway 10.252.2.1 is not inside subnet 10.252.1.0/24"),
    ([{"subnet": "10.252.1.0/24", "iprange": "10.252.0.0/23"}],
     "option ipam_config[0]: iprange 10.252.0.0/23 is not inside subnet 10.252.1.0/24"),
])
def test_bad_addressing_is_refused_naming_the_option(ipam, where):
    with pytest.raises(OptionsError) as err:
        want(ipam_config=ipam)
    assert where in str(err.value)


def test_predefined_names_agree_with_the_engine():
    assert netmod.PREDEFINED == PREDEFINED
