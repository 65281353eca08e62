"""One experiment path, shared by ``dagger-ros sim`` and ``dagger-ros compare``: prepare a
run folder from explicit arguments, run its graph, then the BC baseline and the expert's
figure on the same evaluation seeds.

A run folder holds graph.yaml (the exact configuration), dataset/, checkpoints/,
metrics.jsonl, logs/graph.log and, after :func:`baseline`, bc_dataset/.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from dagger_ros.core.config import ConfigError, from_mapping
from dagger_ros.core.graph import CRITICAL, launch_plan, load_graph
from dagger_ros.paths import shipped_config


@dataclasses.dataclass
class Run:
    """A prepared run: its folder, its graph file and the validated node configs."""

    dir: Path
    graph_file: Path
    graph: dict[str, Any]

    @property
    def trainer(self):
        return self.graph["trainer"]

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / "graph.log"


def default_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run(config: str | Path, runs: str | Path, name: str,
                trainer: dict[str, Any] | None = None,
                nodes: dict[str, dict[str, Any]] | None = None) -> Run:
    """A new run folder ``runs/name`` and its graph YAML: ``config`` (a path, or the name
    of a shipped config) with this run's dataset and run paths, the ``nodes`` overrides
    ({node: {key: value}}) and the ``trainer`` ones (keys whose value is None are left as
    the config has them). Everything is validated before anything runs."""
    source = shipped_config(str(config))
    if not source.exists():
        raise ConfigError(f"DAgger config not found: {source}")
    run_dir = Path(runs) / name
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(f"run folder {run_dir} already exists; choose another --name")
    data = yaml.safe_load(source.read_text())
    for node in ("recorder", "trainer"):
        if not isinstance(data.get(node), dict) or "ros__parameters" not in data[node]:
            raise ConfigError(f"{source} has no '{node}' section; a DAgger run needs one")
    for node, values in (nodes or {}).items():
        if node not in data:
            raise ConfigError(f"{source} has no '{node}' section to override")
        data[node]["ros__parameters"].update(values)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    dataset = str((run_dir / "dataset").resolve())
    recorder = data["recorder"]["ros__parameters"]
    recorder["dataset_root"] = dataset
    params = data["trainer"]["ros__parameters"]
    params.update({"dataset_root": dataset, "run_dir": str(run_dir.resolve()),
                   "repo_id": recorder.get("repo_id", "local/dagger_ros")})
    params.update({k: v for k, v in (trainer or {}).items() if v is not None})
    graph_file = run_dir / "graph.yaml"
    graph_file.write_text(f"# generated from {source}\n" + yaml.safe_dump(data, sort_keys=False))
    return Run(run_dir, graph_file, load_graph(graph_file))


def run_graph(run: Run) -> int:
    """Run the run's graph to its end, the nodes' logs in logs/graph.log. The trainer
    drives the rounds here: without it the run cannot go on, so it is critical."""
    from dagger_ros import launcher

    plan = launch_plan(run.graph, critical=(*CRITICAL, "trainer"))
    return launcher.run_graph(run.graph_file, plan, log_file=run.log_file)


def seed_overrides(config: str | Path, seed: int,
                   nodes: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """``nodes`` (node -> {key: value}) plus what makes run ``seed`` of ``config`` a run of
    its own: its collection episodes (the bridge's seeds 1000 x seed, 1000 x seed + 1, ...),
    the gating draws, the training and the simulated operator's noise. The evaluation
    seeds stay the same for every run, so runs differ only in what they learned."""
    sections = yaml.safe_load(shipped_config(str(config)).read_text()) or {}
    mine = {"mujoco_bridge": {"seed": 1000 * seed}, "supervisor": {"seed": seed},
            "trainer": {"seed": seed}, "sim_operator": {"seed": seed}}
    out = {node: dict(values) for node, values in (nodes or {}).items()}
    for node, values in mine.items():
        if node in sections:
            out[node] = {**values, **out.get(node, {})}
    return out


def start_run(run: Run, domain: int) -> subprocess.Popen:
    """Run's graph in a child process (``python -m dagger_ros.experiment <run dir>``) on a
    ROS domain of its own, so graphs side by side never hear each other."""
    from dagger_ros import launcher

    env = {**os.environ, "ROS_DOMAIN_ID": str(domain),
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    return launcher.start_child([sys.executable, "-m", "dagger_ros.experiment", str(run.dir)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_side_by_side(runs: list[Run], parallel: int, report=print) -> dict[Path, int]:
    """Run every run's graph, ``parallel`` at a time, each on its own ROS domain (this
    process's ROS_DOMAIN_ID + 1, + 2, ...); returns each run folder's exit code. Stopping
    this process stops them all (launcher.start_child)."""
    from dagger_ros import launcher

    base = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    pending = list(enumerate(runs))
    running: dict[int, tuple[Run, subprocess.Popen, float]] = {}
    codes: dict[Path, int] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, parallel):
                k, run = pending.pop(0)
                running[k] = (run, start_run(run, 1 + (base + 1 + k) % 230), time.monotonic())
                report(f"started {run.dir}")
            time.sleep(0.5)
            for k, (run, proc, began) in list(running.items()):
                if proc.poll() is not None:
                    del running[k]
                    codes[run.dir] = proc.returncode
                    report(f"{run.dir}: {'done' if proc.returncode == 0 else 'FAILED'} in "
                           f"{time.monotonic() - began:.0f} s")
    finally:
        for _run, proc, _began in running.values():
            launcher.stop_child(proc)
    return codes


def threads_per_run(parallel: int) -> int:
    """Torch threads each trainer may use when ``parallel`` graphs run side by side: torch's
    threads spin while they wait, and two trainers with a thread per core each on 2 cores
    took 67-195 s a round instead of ~20."""
    return max(1, (os.cpu_count() or 1) // max(1, parallel))


def finished(folder: Path, rounds: int) -> bool:
    """A run folder whose trainer wrote ``rounds`` rounds (kept when a run is resumed)."""
    path = Path(folder) / "metrics.jsonl"
    return path.exists() and len(path.read_text().splitlines()) >= rounds


def prepare_seeds(config: str | Path, out: str | Path, seeds: int,
                  nodes: dict[str, dict[str, Any]] | None = None,
                  trainer: dict[str, Any] | None = None, reuse: bool = False,
                  rounds: int = 0) -> tuple[list[Run], list[Run]]:
    """Runs ``out/seed_<s>`` of ``config`` for s < ``seeds`` (experiment.seed_overrides);
    returns (every run, the runs still to run). With ``reuse``, a folder whose trainer
    wrote ``rounds`` rounds is kept as it is; an unfinished one starts again."""
    import shutil

    every, todo = [], []
    for seed in range(seeds):
        folder = Path(out) / f"seed_{seed}"
        if reuse and finished(folder, rounds):
            every.append(Run(folder, folder / "graph.yaml", {}))
            continue
        if folder.exists():
            shutil.rmtree(folder)
        run = prepare_run(config, out, f"seed_{seed}",
                          nodes=seed_overrides(config, seed, nodes), trainer=trainer)
        every.append(run)
        todo.append(run)
    return every, todo


def _bc_job(job: tuple[str, list[int], str]) -> tuple[list[dict], float]:
    graph_file, labels, out_dir = job
    return baseline(load_graph(graph_file)["trainer"], labels, Path(out_dir))


def baselines_side_by_side(runs: list[Run], out: str | Path, parallel: int,
                           report=None) -> tuple[list[list[dict]], float]:
    """BC for each run, at the label counts it reached, with the run's seed (its
    rollouts and training), in ``parallel`` worker processes; and the expert's success.
    ``report(line)`` hears of each run's BC as it ends (it can take minutes)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    jobs = [(str(run.graph_file), [r["labels"] for r in read_rows(run)],
             str(Path(out) / run.dir.name)) for run in runs]
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=max(1, parallel),
                             mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_bc_job, job) for job in jobs]
        of = dict(zip(futures, runs, strict=True))
        for future in as_completed(futures):  # each as it ends
            bc, _ = future.result()
            run = of[future]
            if report:
                report(f"{run.dir.name}: BC done at {time.monotonic() - start:.0f} s; success "
                       + ", ".join(f"{r['success_rate']:.0%}" for r in bc) + " at "
                       + ", ".join(f"{r['labels']:,}" for r in bc) + " labels")
        results = [f.result() for f in futures]
    return [bc for bc, _ in results], results[0][1]


def read_rows(run: Run) -> list[dict]:
    """The run's round rows (metrics.jsonl), as plain mappings for tables and plots."""
    from dagger_ros.core.rounds import read_metrics

    path = run.dir / "metrics.jsonl"
    return [row.as_dict() for row in read_metrics(path)] if path.exists() else []


def baseline(trainer, label_counts: list[int], out_dir: Path,
             progress=None) -> tuple[list[dict], float]:
    """BC at each of ``label_counts`` expert labels (expert-only rollouts, recorded in
    ``out_dir/bc_dataset``), and the expert's own success, both on the trainer's held-out
    evaluation seeds with its sensor noise. The trainer's seed picks BC's rollouts and
    training (seed 0: the rollouts the main job has always used)."""
    from dagger_ros.core.dagger_loop import BC_SEED_BASE, expert_success
    from dagger_ros.core.experts import make_expert
    from dagger_ros.core.report import bc_baseline
    from dagger_ros.core.rounds import eval_task
    from dagger_ros.core.training import TrainConfig

    task = eval_task(trainer)
    train = from_mapping(TrainConfig, {f.name: getattr(trainer, f.name)
                                       for f in dataclasses.fields(TrainConfig)})
    bc = bc_baseline(task, train, label_counts, trainer.eval_episodes,
                     Path(out_dir) / "bc_dataset", seed=trainer.seed, progress=progress,
                     rollout_seed_base=BC_SEED_BASE + 100_000 * trainer.seed)
    return bc, expert_success(task, make_expert(task), trainer.eval_episodes)


if __name__ == "__main__":  # a prepared run's graph, for run_side_by_side
    folder = Path(sys.argv[1])
    sys.exit(run_graph(Run(folder, folder / "graph.yaml", load_graph(folder / "graph.yaml"))))
