"""plan_container(desired, actual): a pure function, tested as a table (no engine)."""

from __future__ import annotations

import pytest
from ansible_collections.berth.core.plugins.module_utils.container import plan_container
from ansible_collections.berth.core.plugins.module_utils.container_compare import check_comparisons, view
from ansible_collections.berth.core.plugins.module_utils.container_options import ContainerOptions, desired_spec
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import ABSENT, Refused

from berth.errors import InvalidArgument

IMG = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64
BASE = {"name": "web", "image": "busybox", "env": {"A": "1"}, "memory": "1g",
        "published_ports": ["127.0.0.1:8080:80", "53/udp"], "volumes": ["/srv/data:/data:ro"]}


def want(**kw) -> ContainerOptions:
    return parse_options(ContainerOptions, {**BASE, **kw})


def have(running=True, spec_of=None, networks=None, image=IMG, recorded=True, **kw) -> dict:
    """``actual`` for a container created from ``want(**spec_of)`` (default: BASE)."""
    spec = desired_spec(want(**(spec_of or {})))
    container = {"Id": "c" * 64, "Image": image, "State": {"Running": running}, "Config": {"Image": "busybox"},
                 "HostConfig": {"NetworkMode": spec.network},
                 "NetworkSettings": {"Networks": networks if networks is not None else {"bridge": {}}}}
    return {"container": container, "spec": spec if recorded else None, "image_id": IMG, "pull_needed": False,
            "env_file": (), "missing": {}, **kw}


MISSING = {"container": None, "spec": None, "image_id": IMG, "pull_needed": False, "env_file": (), "missing": {}}

# (desired, actual, action kinds, differing fields)
CASES = {
    "absent, missing: nothing": (want(state="absent"), {"container": None}, [], set()),
    "absent, running: remove": (want(state="absent"), have(), ["remove"], {"exists", "running"}),
    "started, missing: create, start": (want(), MISSING, ["create", "start"],
                                        {"exists", "image", "env", "memory", "published_ports", "volumes",
                                         "running"}),
    "present, missing: create only": (want(state="present", env=None, memory=None, published_ports=None,
                                           volumes=None), MISSING, ["create"], {"exists", "image"}),
    "image not here: pulled first": (want(), {**MISSING, "image_id": None}, ["pull", "create", "start"],
                                     {"exists", "image", "env", "memory", "published_ports", "volumes", "running"}),
    "same: nothing": (want(), have(), [], set()),
    "written differently: nothing": (
        want(memory="1024m", env={"A": 1}, published_ports=["0.0.0.0::53/udp", "127.0.0.1:8080:80/tcp"],
             volumes=["/srv/data/:/data/:ro"], command=[], network_mode="default"), have(), [], set()),
    "not given: not compared": (want(env=None, memory=None, published_ports=None, volumes=None), have(), [], set()),
    "env differs: recreate": (want(env={"A": "2"}), have(), ["recreate", "start"], {"env"}),
    "env more present, allowed": (want(env={}, comparisons={"env": "allow_more_present"}), have(), [], set()),
    "everything ignored": (want(env={"A": "2"}, comparisons={"*": "ignore"}), have(), [], set()),
    "everything ignored but env": (want(env={"A": "2"}, memory="2g", comparisons={"*": "ignore", "env": "strict"}),
                                   have(), ["recreate", "start"], {"env"}),
    "security_opts written differently: nothing": (
        want(security_opts=["no-new-privileges=true", "seccomp=builtin"]),
        have(spec_of={"security_opts": ["no-new-privileges"]}), [], set()),
    "security_opts differ: recreate": (want(security_opts=["seccomp=unconfined"]), have(), ["recreate", "start"],
                                       {"security_opts"}),
    "memory differs: updated in place": (want(memory="2g"), have(), ["update"], {"memory"}),
    "limits and restart policy: one update": (
        want(cpus=1.5, pids_limit=50, restart_policy="on-failure", restart_retries=3), have(), ["update"],
        {"cpus", "pids_limit", "restart_policy", "restart_retries"}),
    "update while stopped, started: update then start": (want(memory="2g"), have(running=False),
                                                          ["update", "start"], {"memory", "running"}),
    "memory and env differ: recreate": (want(memory="2g", env={"A": "2"}), have(), ["recreate", "start"],
                                        {"memory", "env"}),
    "memory differs, recreate: true": (want(memory="2g", recreate=True), have(), ["recreate", "start"], {"memory"}),
    "ports differ": (want(published_ports=["8080:80"]), have(), ["recreate", "start"], {"published_ports"}),
    "image moved: recreate": (want(), have(image=NEW), ["recreate", "start"], {"image"}),
    "image moved, current-image: nothing": (want(image_comparison="current-image"), have(image=NEW), [], set()),
    "image named differently, current-image": (want(image="alpine", image_comparison="current-image"),
                                               have(), ["recreate", "start"], {"image"}),
    "image ignored": (want(comparisons={"image": "ignore"}), have(image=NEW), [], set()),
    "pull always, registry has another": (want(pull="always"), have(pull_needed=True),
                                          ["pull", "recreate", "start"], {"image"}),
    "stopped, running: stop": (want(state="stopped"), have(), ["stop"], {"running"}),
    "stopped, stopped: nothing": (want(state="stopped"), have(running=False), [], set()),
    "started, stopped: start": (want(), have(running=False), ["start"], {"running"}),
    "present leaves it running": (want(state="present"), have(), [], set()),
    "restarted: restart": (want(state="restarted"), have(), ["restart"], {"restarted"}),
    "recreate: true": (want(recreate=True), have(), ["recreate", "start"], {"recreated"}),
    "recreate while present: not started": (want(state="present", env={"A": "3"}), have(), ["recreate"],
                                             {"env", "running"}),
    "no recorded spec: image only": (want(env={"A": "2"}), have(recorded=False), [], set()),
    "network missing: connect in place": (
        want(networks=[{"name": "front"}], network_mode="bridge"), have(), ["connect"], {"networks"}),
    "network address differs: reconnect": (
        want(networks=[{"name": "front", "ipv4_address": "10.0.0.9"}]),
        have(spec_of={"networks": [{"name": "front"}]},
             networks={"front": {"IPAMConfig": {"IPv4Address": "10.0.0.5"}}}),
        ["disconnect", "connect"], {"networks"}),
    "extra network, default: kept": (
        want(networks=[{"name": "front"}]), have(spec_of={"networks": [{"name": "front"}]},
                                                 networks={"front": {}, "back": {}}), [], set()),
    "extra network, strict: disconnected": (
        want(networks=[{"name": "front"}], comparisons={"networks": "strict"}),
        have(spec_of={"networks": [{"name": "front"}]}, networks={"front": {}, "back": {}}),
        ["disconnect"], {"networks"}),
    "first network is the network_mode": (want(networks=[{"name": "front"}]), have(), ["recreate", "start"],
                                           {"network_mode"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case):
    desired, actual, kinds, fields = CASES[case]
    plan = plan_container(desired, actual)
    assert [a.kind for a in plan.actions] == kinds
    assert {d.field for d in plan.differences} == fields
    assert plan.changed == bool(kinds)


def test_a_new_containers_diff_shows_what_the_task_gives():
    plan = plan_container(want(), MISSING)
    assert plan.diff() == {"before": {"exists": False, "running": False},
                           "after": {"exists": True, "image": "busybox", "env": {"A": "1"}, "memory": 1 << 30,
                                     "published_ports": ["127.0.0.1:8080:80/tcp", "53/udp"],
                                     "volumes": ["/srv/data:/data:ro"], "running": True}}
    assert all(d.before is ABSENT for d in plan.differences if d.field not in ("exists", "running"))


def test_a_recreate_diff_has_the_differing_options_only():
    plan = plan_container(want(env={"A": "2"}, memory="2g"), have())
    assert plan.diff() == {"before": {"env": {"A": "1"}, "memory": 1 << 30},
                           "after": {"env": {"A": "2"}, "memory": 2 << 30}}
    assert plan.actions[0].summary == "recreate container web (env, memory)"
    assert plan.actions[0].params["volumes"] is False  # keep_volumes


def test_a_recreate_without_image_uses_the_containers():
    plan = plan_container(want(image=None, env={"A": "2"}), have())
    assert plan.actions[0].params["spec"].image == "busybox"


def test_networks_beside_the_first_are_connected_after_a_create():
    plan = plan_container(want(networks=[{"name": "front", "ipv4_address": "10.0.0.9", "aliases": ["api"]},
                                         {"name": "back", "aliases": ["b"]}]), MISSING)
    create, connect, start = plan.actions
    assert (create.params["spec"].network, create.params["spec"].ip, create.params["spec"].network_aliases) == (
        "front", "10.0.0.9", ("api",))
    assert connect.params == {"container": "web", "network": "back", "ip": None, "aliases": ("b",)}
    assert start.kind == "start"


def test_without_cli_compatibility_the_container_starts_on_bridge():
    plan = plan_container(want(networks=[{"name": "front"}], networks_cli_compatible=False), MISSING)
    assert plan.actions[0].params["spec"].network == "bridge"
    assert [a.kind for a in plan.actions] == ["create", "connect", "start"]


def test_refusals_name_the_option():
    with pytest.raises(Refused, match=r"^image: no such image on the host: busybox \(and pull is never\)"):
        plan_container(want(pull="never"), {**MISSING, "image_id": None})
    with pytest.raises(Refused, match=r"^image: required to create container web"):
        plan_container(want(image=None), MISSING)
    with pytest.raises(Refused, match=r"^mounts\[0\]\.source: bind source path does not exist"):
        plan_container(want(), {**MISSING, "missing": {"mounts[0].source": "bind source path does not exist: /x"}})
    with pytest.raises(InvalidArgument, match=r'^invalid memory value "12q"') as err:
        plan_container(want(memory="12q"), MISSING)
    assert err.value.data["flag"] == "memory"


@pytest.mark.parametrize(("params", "message"), [
    ({"network_mode": "host", "published_ports": ["80"]}, "published_ports: ports cannot be published"),
    ({"network_mode": "none", "networks": [{"name": "x"}], "published_ports": None},
     "networks: a container with network_mode none"),
    ({"auto_remove": True, "restart_policy": "always"}, "restart_policy: always conflicts with auto_remove"),
    ({"comparisons": {"memory": "allow_more_present"}}, "comparisons.memory: allow_more_present applies"),
    ({"comparisons": {"*": "allow_more_present"}}, r"comparisons.\*: allow_more_present applies"),
    ({"comparisons": {"colour": "strict"}}, "comparisons: unknown option 'colour'"),
    ({"comparisons": {"env": "loose"}}, "comparisons.env: unknown mode 'loose'"),
    ({"command": 5}, "option command: expected a string or a list"),
])
def test_options_refused_by_the_model(params, message):
    with pytest.raises(OptionsError, match=message):
        want(**params)


def test_comparisons_accept_aliases():
    assert check_comparisons({"ports": "ignore", "*": "strict"}) == {"published_ports": "ignore", "*": "strict"}


def test_env_and_labels_values_are_yaml_spelled_strings():
    opts = want(env={"N": 1, "T": True, "F": False, "S": "x"}, labels={"n": 2})
    assert opts.env == {"N": "1", "T": "true", "F": "false", "S": "x"} and opts.labels == {"n": "2"}


def test_env_file_then_env():
    spec = desired_spec(want(env={"A": "2"}), (("A", "1"), ("B", "3")))
    assert view(spec)["env"] == {"A": "2", "B": "3"}


def test_a_string_command_is_split_as_a_shell_would():
    assert desired_spec(want(command="sh -c 'echo hi there'")).command == ("sh", "-c", "echo hi there")


def test_plan_is_pure():
    desired, actual = want(env={"A": "2"}), have()
    snapshot = repr(actual)
    assert repr(plan_container(desired, actual)) == repr(plan_container(desired, actual))
    assert repr(actual) == snapshot


def test_a_seccomp_profile_is_compared_by_content_and_shown_by_digest(tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    shown = view(desired_spec(want(security_opts=[f"seccomp={profile}"])))["security_opts"]
    assert len(shown) == 1 and shown[0].startswith("seccomp=profile sha256:")
    profile.write_text('{"defaultAction": "SCMP_ACT_ERRNO"}')
    assert view(desired_spec(want(security_opts=[f"seccomp={profile}"])))["security_opts"] != shown


def test_a_bad_security_opt_names_the_option(tmp_path):
    with pytest.raises(InvalidArgument, match="security_opts") as err:
        desired_spec(want(security_opts=[f"seccomp={tmp_path / 'missing.json'}"]))
    assert "missing.json" in str(err.value)


def test_an_update_carries_the_new_values_and_lifts_a_limit_the_task_drops():
    plan = plan_container(want(memory="2g", cpus=0.5), have(spec_of={"cpus": 1}))
    (update,) = plan.actions
    assert update.kind == "update" and update.summary == "update container web (cpus, memory)"
    assert update.params["memory"] == 2 << 30 and update.params["nano_cpus"] == 500_000_000
    lifted = plan_container(want(memory="0"), have()).actions[0]
    assert lifted.kind == "update" and lifted.params == {"container": "c" * 64, "memory": 0}
    assert plan.diff() == {"before": {"memory": 1 << 30, "cpus": 1.0}, "after": {"memory": 2 << 30, "cpus": 0.5}}
