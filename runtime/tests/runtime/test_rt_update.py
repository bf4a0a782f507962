"""``update`` with real runc + conmon: limits applied to the live cgroup and recorded, kept across a
restart and a fresh start, bad values refused with nothing changed (``berth.runtime.update``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rtkit import until

from berth.containers import ContainerSpec
from berth.containers.record import recorded_spec
from berth.containers.spec import RestartPolicy
from berth.engine import container_ops as co
from berth.errors import InvalidArgument
from berth.runtime import update as up
from berth.runtime.driver import cgroup_version
from berth.runtime.errors import OCIRuntimeFailure

GIB = 1 << 30
MIB = 1 << 20


def cgroup_file(pid: int, controller: str, name: str) -> str:
    """A cgroup file of process ``pid`` as the host sees it (v1: per controller; v2: unified)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if cgroup_version() == 2 and controllers == "":
            return (Path("/sys/fs/cgroup") / path.lstrip("/") / name).read_text().strip()
        if controller in controllers.split(","):
            return (Path("/sys/fs/cgroup") / controllers / path.lstrip("/") / name).read_text().strip()
    raise AssertionError(f"no {controller} cgroup for {pid}")


def limits(pid: int) -> dict[str, object]:
    """The limits as the kernel has them, in v1 terms (v2 values converted back)."""
    if cgroup_version() == 2:
        quota, period = cgroup_file(pid, "", "cpu.max").split()
        mem = cgroup_file(pid, "", "memory.max")
        swap = cgroup_file(pid, "", "memory.swap.max")
        return {"memory": None if mem == "max" else int(mem),
                "memsw": None if swap == "max" or mem == "max" else int(mem) + int(swap),
                "quota": -1 if quota == "max" else int(quota), "period": int(period),
                "weight": int(cgroup_file(pid, "", "cpu.weight")), "pids": cgroup_file(pid, "", "pids.max")}
    unlimited = 1 << 62  # the kernel shows "no limit" as a page-rounded LONG_MAX

    def mem(name: str) -> int | None:
        v = int(cgroup_file(pid, "memory", name))
        return None if v >= unlimited else v

    return {"memory": mem("memory.limit_in_bytes"), "memsw": mem("memory.memsw.limit_in_bytes"),
            "quota": int(cgroup_file(pid, "cpu", "cpu.cfs_quota_us")),
            "period": int(cgroup_file(pid, "cpu", "cpu.cfs_period_us")),
            "shares": int(cgroup_file(pid, "cpu", "cpu.shares")), "pids": cgroup_file(pid, "pids", "pids.max")}


def _pid(rt, cid: str) -> int:
    return co.inspect(rt, cid)["State"]["Pid"]


def _sleeper(rt, **kw) -> str:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "300"), **kw))
    co.start(rt, cid)
    return cid


needs_v1_swap = pytest.mark.skipif(not up.swap_accounting(), reason="the kernel does not account swap")


@needs_v1_swap
def test_running_container_gets_every_limit_live_and_keeps_them_across_restart_and_start(rt) -> None:
    cid = _sleeper(rt, memory=256 * MIB)
    before = limits(_pid(rt, cid))
    assert before["memory"] == 256 * MIB and before["pids"] == "max" and before["quota"] == -1
    co.update(rt, cid, memory=64 * MIB, memory_swap=128 * MIB, nano_cpus=500_000_000, cpu_shares=512,
              pids_limit=50)
    want = {"memory": 64 * MIB, "memsw": 128 * MIB, "quota": 50_000, "period": 100_000, "pids": "50"}
    now = limits(_pid(rt, cid))
    assert {k: now[k] for k in want} == want
    assert now.get("shares", 512) == 512 and now.get("weight", 20) == 20  # v2: shares 512 -> weight 20
    hc = co.inspect(rt, cid)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["CpuShares"], hc["PidsLimit"]) == (
        64 * MIB, 128 * MIB, 500_000_000, 512, 50)
    spec = recorded_spec(co.runtime_context(rt).containers.config(cid))
    assert (spec.memory, spec.nano_cpus, spec.pids_limit) == (64 * MIB, 500_000_000, 50)  # what the module compares

    co.stop(rt, cid, timeout=0)
    co.start(rt, cid)  # a new process, a new cgroup: built from the record
    after = limits(_pid(rt, cid))
    assert {k: after[k] for k in want} == want and after.get("shares", 512) == 512
    bundle = json.loads((co.runtime_context(rt).bundle(cid) / "config.json").read_text())
    assert bundle["linux"]["resources"]["memory"] == {"limit": 64 * MIB, "swap": 128 * MIB}


def test_stopped_container_is_recorded_and_starts_with_the_new_limits(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "300")))
    co.update(rt, cid, memory=48 * MIB, nano_cpus=250_000_000, pids_limit=20, cpu_shares=300)
    co.start(rt, cid)
    now = limits(_pid(rt, cid))
    assert (now["memory"], now["quota"], now["pids"]) == (48 * MIB, 25_000, "20")
    assert now.get("shares", 300) == 300


def test_zero_lifts_limits_and_pids_minus_one_is_unlimited(rt) -> None:
    cid = _sleeper(rt, memory=64 * MIB, nano_cpus=1_000_000_000, pids_limit=30)
    co.update(rt, cid, memory=0, nano_cpus=0, pids_limit=-1, cpu_shares=0)
    now = limits(_pid(rt, cid))
    assert (now["memory"], now["quota"], now["pids"]) == (None, -1, "max")
    assert now.get("shares", 1024) == 1024
    hc = co.inspect(rt, cid)["HostConfig"]
    assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"], hc["CpuShares"]) == (0, 0, None, 0)


def test_restart_policy_update_is_used_at_the_next_exit(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "exit 3")))
    co.update(rt, cid, restart="on-failure:2")
    assert co.inspect(rt, cid)["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    co.start(rt, cid)
    until(lambda: co.inspect(rt, cid)["RestartCount"] == 2 and co.inspect(rt, cid)["State"]["Status"] == "exited",
          what="two restarts by the updated policy")
    assert co.inspect(rt, cid)["State"]["ExitCode"] == 3
    assert recorded_spec(co.runtime_context(rt).containers.config(cid)).restart == RestartPolicy("on-failure", 2)


def _record(rt, cid: str) -> dict:
    return co.runtime_context(rt).containers.config(cid)


@pytest.mark.parametrize(("changes", "needle"), [
    ({"memory": 1024}, 'invalid --memory value "1024": minimum memory limit allowed is 6MB'),
    ({"nano_cpus": 512 * 10**9}, "invalid --cpus value \"512.0\": range of CPUs is from 0.01 to"),
    ({"nano_cpus": 1_000_000}, "invalid --cpus value"),
    ({"cpu_shares": 1}, 'invalid --cpu-shares value "1"'),
    ({"cpu_shares": 300_000}, 'invalid --cpu-shares value "300000"'),
    ({"pids_limit": -2}, 'invalid --pids-limit value "-2"'),
    ({"memory_swap": 32 * MIB}, 'invalid --memory-swap value "32MiB": minimum memory+swap limit should be larger'),
    ({"memory": 200 * MIB}, 'invalid --memory value "200MiB": memory limit should be smaller than the already set'),
    ({"restart": "sometimes"}, 'invalid --restart value "sometimes"'),
    ({}, "you must provide one or more flags"),
])
def test_bad_values_name_the_flag_and_change_nothing(rt, changes, needle) -> None:
    swap_case = "memory_swap" in changes or changes.get("memory", 0) > MIB
    if swap_case and not up.swap_accounting():
        pytest.skip("the kernel does not account swap")
    cid = _sleeper(rt, memory=64 * MIB)
    if up.swap_accounting():
        co.update(rt, cid, memory_swap=128 * MIB)
    record, live = _record(rt, cid), limits(_pid(rt, cid))
    with pytest.raises(InvalidArgument) as err:
        co.update(rt, cid, **changes)
    assert needle in str(err.value)
    assert _record(rt, cid) == record and limits(_pid(rt, cid)) == live


def test_swap_without_memory_and_restart_on_an_rm_container_are_refused(rt) -> None:
    cid = _sleeper(rt)
    record = _record(rt, cid)
    if up.swap_accounting():
        with pytest.raises(InvalidArgument, match="a swap limit needs a memory limit: set --memory too"):
            co.update(rt, cid, memory_swap=64 * MIB)
    rm = co.create(rt, ContainerSpec(image="busybox", command=("true",), auto_remove=True))
    with pytest.raises(InvalidArgument, match="AutoRemove"):
        co.update(rt, rm, restart="always")
    co.update(rt, rm, restart="no")  # allowed, as in Docker
    assert _record(rt, cid) == record


def test_a_limit_the_kernel_refuses_leaves_cgroup_and_record_as_they_were(rt) -> None:
    """/dev/shm pages are charged to the container and cannot be reclaimed without swap: a limit below
    them fails in the kernel (EBUSY); runc's rollback and no record write keep everything as it was."""
    if Path("/proc/swaps").read_text().count("\n") > 1:
        pytest.skip("with swap the kernel can reclaim the pages")
    cid = co.create(rt, ContainerSpec(image="busybox", memory=128 * MIB, command=(
        "sh", "-c", "head -c 40000000 /dev/zero > /dev/shm/fill; sleep 300")))
    co.start(rt, cid)
    until(lambda: int(cgroup_file(_pid(rt, cid), "memory", "memory.usage_in_bytes" if cgroup_version() == 1
                                  else "memory.current")) > 38_000_000, what="the container to fill /dev/shm")
    record, live = _record(rt, cid), limits(_pid(rt, cid))
    with pytest.raises(OCIRuntimeFailure, match="runc update failed"):
        co.update(rt, cid, memory=16 * MIB, pids_limit=10)
    assert _record(rt, cid) == record and limits(_pid(rt, cid)) == live
    assert co.inspect(rt, cid)["State"]["Running"] is True


def test_merge_rules_without_a_container() -> None:
    hc = {"Memory": 100 * MIB, "MemorySwap": 200 * MIB, "AutoRemove": False}
    assert up.merge(hc, up.ContainerUpdate(memory=300 * MIB, memory_swap=-1))["MemorySwap"] == -1
    assert up.merge(hc, up.ContainerUpdate(memory=0)) | {} == {**hc, "Memory": 0, "MemorySwap": 0}
    assert up.resources({"Memory": 0, "MemorySwap": 0}) == {
        "memory": {"limit": -1, "swap": -1}, "cpu": {"shares": 1024, "quota": -1, "period": 100_000},
        "pids": {"limit": -1}}
    assert up.resources({"Memory": 10 * MIB}, swap_accounting=False)["memory"] == {"limit": 10 * MIB}
    with pytest.raises(InvalidArgument, match="does not account swap"):
        up.merge(hc, up.ContainerUpdate(memory_swap=GIB), swap_accounting=False)
    assert up.parse_update(memory="512m", memory_swap="-1", cpus="0", pids_limit="0") == up.ContainerUpdate(
        memory=512 * MIB, memory_swap=-1, nano_cpus=0, pids_limit=0)
    with pytest.raises(InvalidArgument, match='invalid --cpus value "lots"'):
        up.parse_update(cpus="lots")
    spec = {"image": "x", "memory": None, "restart": {"name": "no", "max_retries": 0}}
    merged = up.merge_spec(spec, up.merge(hc, up.ContainerUpdate(restart=RestartPolicy("always"))))
    assert merged["restart"] == {"name": "always", "max_retries": 0} and merged["memory"] == 100 * MIB
