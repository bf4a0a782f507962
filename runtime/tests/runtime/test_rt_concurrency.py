"""Names under concurrency: distinct names all win; the same name twice: exactly one wins."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

from berth.containers import ContainerSpec
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.runtime.errors import NameInUse


def _create_in_process(root: str, name: str, queue) -> None:
    try:
        queue.put(("ok", co.create(Engine(root=root), ContainerSpec(image="busybox", name=name,
                                                                   command=("true",)))))
    except NameInUse as exc:
        queue.put(("conflict", str(exc)))


def test_ten_parallel_runs_with_distinct_names(rt) -> None:
    def run_one(i: int) -> str:
        cid = co.create(rt, ContainerSpec(image="busybox", name=f"c{i}", command=("sh", "-c", "echo $HOSTNAME")))
        co.start(rt, cid)
        assert co.wait(rt, cid, timeout=60) == 0
        return cid

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(run_one, range(10)))
    assert len(set(ids)) == 10
    rows = co.ps(rt, all=True)
    assert sorted(r["Names"][0] for r in rows) == sorted(f"/c{i}" for i in range(10))
    assert all(r["State"] == "exited" for r in rows)


def test_same_name_twice_at_once_across_processes(rt) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_ in range(3):
        queue = ctx.Queue()
        procs = [ctx.Process(target=_create_in_process, args=(str(rt.paths.root), f"dup{round_}", queue))
                 for _ in range(2)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(10)
        kinds = sorted(r[0] for r in results)
        assert kinds == ["conflict", "ok"], results
        winner = next(r[1] for r in results if r[0] == "ok")
        loser = next(r[1] for r in results if r[0] == "conflict")
        assert f'The container name "/dup{round_}" is already in use by container "{winner}"' in loser
    assert len(co.ps(rt, all=True)) == 3
