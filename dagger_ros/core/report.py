"""The main job's outputs: the behaviour-cloning baseline, the learning curve, the report."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import numpy as np

from dagger_ros.core.dagger_loop import (
    BC_SEED_BASE,
    EVAL_SEED_BASE,
    evaluate,
    expert_rollouts,
    fit_start,
)
from dagger_ros.core.recording import DatasetWriter, bc_task_text, load_training_data
from dagger_ros.core.tasks import Task
from dagger_ros.core.training import TrainConfig, train_ensemble

#: gating -> (the method's name, what its intervention figure is: None if it has none)
METHOD_NAMES = {
    "beta": ("DAgger", "expert"),  # the share of beta draws the expert won
    "safe": ("SafeDAgger", "interv"),
    "uncertainty": ("uncertainty-gated DAgger", "interv"),
    "human_gated": ("HG-DAgger", "operator"),
    "noise": ("DART", None),  # the expert always drives
    "budget": ("budget-gated DAgger", "queried"),
    "async": ("DAgger, labels later", None),  # the policy always drives
}


@dataclasses.dataclass(frozen=True)
class Method:
    """What ran, for tables, plots and reports: the method named after its gate, with only
    the parameters that apply to it."""

    name: str  # "HG-DAgger", "DAgger", ...
    parameters: str  # the gate's own parameters, in a few words
    learner: str  # "ensemble MLP", "vision ensemble (CNN)", "LeRobot act"
    shows_beta: bool  # beta means something only for beta mixing
    intervention: str | None  # the column of its intervention figure, or None

    @property
    def title(self) -> str:
        return f"{self.name} ({self.parameters}; {self.learner} learner)"


def ensemble_name(trainer) -> str:
    """Our ensemble for the trainer's profile (what BC trains, and the default learner):
    the vision ensemble where the profile has cameras."""
    from dagger_ros.core.profile import node_profile

    cameras = node_profile(trainer.profile, trainer.task).images
    return "vision ensemble (CNN)" if cameras else "ensemble MLP"


def describe_method(gating, trainer) -> Method:
    """The method a graph runs, from its supervisor's gating config and its trainer's."""
    name, intervention = METHOD_NAMES[gating.gating]
    learner = (f"LeRobot {trainer.lerobot_policy}" if trainer.learner == "lerobot"
               else ensemble_name(trainer))
    return Method(name, gating.describe_gating(), learner, gating.gating == "beta",
                  intervention)


def round_table(method: Method):
    """(header, row formatter) of the live round table, with the method's columns only."""
    head = "round " + ("  beta " if method.shows_beta else "") + "episodes  labels " \
        "eval success   return " + (f"{method.intervention:>8} " if method.intervention
                                     else "") + "handoffs    train"

    def row(r: dict) -> str:
        rate = r.get("intervention_rate")
        rate = "-" if rate is None else f"{100 * rate:.0f}%"
        return (f"{r['round']:>5} " + (f"{r['beta']:>6.3f} " if method.shows_beta else "")
                + f"{r['episodes']:>8} {r['labels']:>7} {100 * r['success_rate']:>11.0f}% "
                f"{r['mean_return']:>8.3f} "
                + (f"{rate:>8} " if method.intervention else "")
                + f"{r.get('handoffs', 0):>8} {r['train']['seconds']:>7.1f}s")

    return head, row


def bc_baseline(task: Task, train: TrainConfig, label_counts: list[int], eval_episodes: int,
                dataset_root: Path, seed: int = 0, progress=None,
                rollout_seed_base: int = BC_SEED_BASE) -> list:
    """BC given DAgger's label counts: expert-only rollouts (the in-process graph, no
    policy), recorded as a LeRobot dataset by the recorder's writer, trained on their first
    N labels for each N, evaluated like DAgger's policies."""
    episodes = expert_rollouts(task.name, max(label_counts),
                               noise=task.observation_noise.tolist(),
                               seed_base=rollout_seed_base)
    from dagger_ros.core.profile import task_profile

    writer = DatasetWriter(dataset_root, "local/bc_baseline", 1.0 / task.control_dt,
                           task.observation_names, task.action_names, robot_type=task.name,
                           environment_names=task.environment_names,
                           images=task_profile(task.name).images)
    for episode in episodes:
        expert = episode.frames[0].decision.label_source
        writer.write_episode(episode.frames, episode.end, bc_task_text(task.name, expert))
    writer.close()
    obs, act, ids = load_training_data(dataset_root, "local/bc_baseline")
    images = {}
    if task.cameras:  # read back from the videos, as the trainer reads DAgger's
        from dagger_ros.core.recording.reading import load_images

        images = load_images(dataset_root, "local/bc_baseline", task.cameras)
    rows, policy = [], None
    for i, labels in enumerate(label_counts):
        if images:  # warm_start: from the fit at the previous label count, as DAgger's rounds
            from dagger_ros.core.vision_model import train_vision_ensemble

            policy, report = train_vision_ensemble(
                obs[:labels], {n: v[:labels] for n, v in images.items()}, act[:labels],
                ids[:labels], task.observation_names, task.action_names, train, seed=seed + i,
                init=policy if train.warm_start else None)
        else:
            policy, report = train_ensemble(obs[:labels], act[:labels], ids[:labels],
                                            task.observation_names, task.action_names, train,
                                            seed=seed + i)
        rows.append({"labels": labels, "train_episodes": int(len(np.unique(ids[:labels]))),
                     **evaluate(task, policy, eval_episodes, EVAL_SEED_BASE),
                     **fit_start(train, report)})
        if progress:
            progress(rows[-1])
    return rows


def plot_learning_curve(dagger: list[dict], bc: list[dict], expert_rate: float, path: Path,
                        title: str, method_name: str = "DAgger") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.plot([r["labels"] for r in dagger], [100 * r["success_rate"] for r in dagger], "o-",
            color="tab:blue", label=method_name)
    ax.plot([r["labels"] for r in bc], [100 * r["success_rate"] for r in bc], "s--",
            color="tab:orange", label="BC (expert-only rollouts)")
    ax.axhline(100 * expert_rate, color="gray", ls=":", label=f"expert ({expert_rate:.0%})")
    for r in dagger:
        ax.annotate(f"r{r['round']}", (r["labels"], 100 * r["success_rate"]),
                    textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7,
                    color="tab:blue")
    ax.set_xlabel("expert labels")
    ax.set_ylabel("evaluation success rate (%)")
    ax.set_ylim(-5, 105)
    ax.set_title(textwrap.fill(title, 90), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_comparison(curves: dict[str, list[dict]], bc: list[dict], expert_rate: float,
                    budget: float | None, path: Path, title: str) -> None:
    """Success against expert labels for several methods (and BC) in one plot: each
    method's mean over seeds, round by round, with the 95% interval of the mean as a band
    (rows as seeds.across_seeds gives them; a single seed has no band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)

    def draw(rows, **style):
        x = [r["labels"] for r in rows]
        y = np.array([100 * r["success_rate"] for r in rows])
        line, = ax.plot(x, y, **style)
        half = np.array([100 * r.get("success_ci95", 0.0) for r in rows])
        if half.any():
            ax.fill_between(x, np.clip(y - half, 0, 100), np.clip(y + half, 0, 100),
                            color=line.get_color(), alpha=0.15, lw=0)

    for (name, rows), marker in zip(curves.items(), "o^vD<>", strict=False):
        draw(rows, marker=marker, ls="-", label=name)
    draw(bc, marker="s", ls="--", color="black", label="BC (expert-only rollouts)")
    ax.axhline(100 * expert_rate, color="gray", ls=":", label=f"expert ({expert_rate:.0%})")
    if budget is not None:
        ax.axvline(budget, color="gray", ls="--", lw=0.8, label=f"equal budget ({budget:.0f})")
    ax.set_xlabel("expert labels (mean over seeds)")
    ax.set_ylabel("evaluation success rate (%)")
    ax.set_ylim(-5, 105)
    ax.set_title(textwrap.fill(title, 90), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def summarize(dagger: list[dict], bc: list[dict], expert_rate: float) -> dict:
    """The figures the report states: the gap to BC and when DAgger reached the expert."""
    gaps = [d["success_rate"] - b["success_rate"] for d, b in zip(dagger, bc, strict=True)]
    reached = next((d["round"] for d in dagger
                    if d["success_rate"] >= 0.95 * expert_rate), None)
    later = [g for d, g in zip(dagger, gaps, strict=True)
             if reached is not None and d["round"] >= reached]
    return {
        "expert_success": expert_rate,
        "dagger_final_success": dagger[-1]["success_rate"],
        "bc_final_success": bc[-1]["success_rate"],
        "final_labels": dagger[-1]["labels"],
        "round_reaching_95pct_of_expert": reached,
        "min_gap_after_reaching": min(later) if later else None,
        "gap_per_round": [round(g, 3) for g in gaps],
    }


def write_report(path: Path, task: str, dagger: list[dict], bc: list[dict], summary: dict,
                 files: dict, method: Method | None = None) -> None:
    method = method or Method("DAgger", "", "ensemble MLP", True, "expert")
    name = method.name
    beta = ("beta | ", "|---") if method.shows_beta else ("", "")
    lines = [f"# {name} run: task '{task}'", "", f"Method: {method.title}.", "",
             "Closed-loop evaluation of the policy alone on held-out seeds after each round; "
             "BC trained on the same number of expert labels taken from expert-only "
             "rollouts.", "",
             f"| round | {beta[0]}episodes | expert labels | {name} success | {name} return | "
             f"BC success |", f"|---{beta[1]}|---|---|---|---|---|"]
    for d, b in zip(dagger, bc, strict=True):
        shown = f"{d['beta']:.3f} | " if method.shows_beta else ""
        lines.append(f"| {d['round']} | {shown}{d['episodes']} | {d['labels']} | "
                     f"{d['success_rate']:.0%} | {d['mean_return']:.3f} | "
                     f"{b['success_rate']:.0%} |")
    reached = summary["round_reaching_95pct_of_expert"]
    lines += ["", f"- Expert success on the evaluation seeds: {summary['expert_success']:.0%}."]
    if reached is None:
        lines.append(f"- {name} did **not** reach 95% of the expert's success rate.")
    else:
        gap = 100 * summary["min_gap_after_reaching"]
        lines.append(f"- {name} reached 95% of the expert's success rate in round {reached}; "
                     f"from then on BC stayed at least {gap:.0f} points below it at the same "
                     "label count.")
    lines += [f"- Final: {name} {summary['dagger_final_success']:.0%}, BC "
              f"{summary['bc_final_success']:.0%} at {summary['final_labels']} labels.", ""]
    lines += [f"- {name}: `{value}`" for name, value in files.items()]
    path.write_text("\n".join(lines) + "\n")


def write_seed_report(path: Path, task: str, method: Method, rows: list[dict],
                      bc: list[dict], expert_rate: float, seeds: int, eval_episodes: int,
                      files: dict) -> list[str]:
    """report.md of a run over several seeds (rows as seeds.across_seeds gives them);
    returns the table's lines."""
    from dagger_ros.core.seeds import fmt_ci

    name = method.name
    table = [f"| round | expert labels, mean (range) | {name} success | BC success at its "
             f"labels | {method.intervention or 'intervention'} rate |",
             "|---|---|---|---|---|"]
    for d, b in zip(rows, bc, strict=False):
        rate = d.get("intervention_rate")
        table.append(
            f"| {d['round']} | {d['labels']:,.0f} ({d['labels_min']:,}-{d['labels_max']:,}) | "
            f"{fmt_ci(d['success_rate'], d['success_ci95'])} ({100 * d['success_min']:.0f}-"
            f"{100 * d['success_max']:.0f}%) | {fmt_ci(b['success_rate'], b['success_ci95'])} "
            f"| {'-' if rate is None else f'{100 * rate:.0f}%'} |")
    lines = [f"# {name} run: task '{task}', {seeds} seeds", "", f"Method: {method.title}.", "",
             f"Each round: the mean over {seeds} seeds (each collects its own episodes and "
             f"trains with its own randomness) [the 95% interval of the mean, Student's t], "
             f"and the range; success of the policy alone on {eval_episodes} held-out "
             f"seeds. BC: per seed, trained on the labels of expert-only rollouts at that "
             f"seed's label counts. Expert success {expert_rate:.0%}.", "", *table, ""]
    lines += [f"- {label}: `{value}`" for label, value in files.items()]
    path.write_text("\n".join(lines) + "\n")
    return table


def write_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")


__all__ = ["Method", "bc_baseline", "describe_method", "plot_learning_curve",
           "plot_comparison", "round_table", "summarize", "write_report",
           "write_seed_report", "write_json"]
