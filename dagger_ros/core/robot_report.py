"""The round table and plot of operator-paced rounds (a robot, or the hardware-shaped
simulator), from the trainer's metrics.jsonl alone: no simulator is asked anything.

Row r is round r's episodes: in round 0 the operator demonstrates; in round r >= 1 the
checkpoint trained after round r-1 drives. ``own success`` is the share of the round's
episodes that policy completed itself (marked success by the operator, no take-over);
``intervention`` is the share of policy-run time the operator had control.
"""

from __future__ import annotations

from pathlib import Path

from dagger_ros.core.config import ConfigError
from dagger_ros.core.records import RecordError, RoundMetrics

READING = ("Round 0: the operator demonstrates. Round r >= 1: the checkpoint trained after "
           "round r-1 (column 'drove') drives. Own success: the share of the round's "
           "episodes that policy completed itself (marked success, no take-over). "
           "Intervention: the operator's share of policy-run time.")
COLUMNS = ("round", "drove", "episodes", "own success", "intervention", "take-overs",
           "hand-offs", "operator s", "labels", "new checkpoint", "train s")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table_rows(rows: list[RoundMetrics]) -> list[list[str]]:
    out, previous = [], None
    for row in rows:
        out.append([str(row.round), previous or "operator", str(row.eval_episodes),
                    _pct(row.success_rate) if previous else "-",
                    _pct(row.intervention_rate), str(row.interventions), str(row.handoffs),
                    f"{row.operator_time_s:.1f}", str(row.labels), row.checkpoint_id,
                    f"{row.train.get('seconds', 0.0):.0f}"])
        previous = row.checkpoint_id
    return out


def markdown_table(rows: list[RoundMetrics]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(rows)]
    return "\n".join(lines)


def plot_rounds(rows: list[RoundMetrics], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    driven = rows[1:]  # round 0: the operator demonstrates, no policy ran
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    x = [r.round for r in driven]
    ax.plot(x, [100 * r.success_rate for r in driven], "o-", color="tab:blue",
            label="policy's own success (operator's marks)")
    ax.plot(x, [100 * (r.intervention_rate or 0.0) for r in driven], "s--", color="tab:red",
            label="intervention rate (operator's share of policy time)")
    ax.set_xlabel("round (the policy trained after the round before drives)")
    ax.set_ylabel("%")
    ax.set_ylim(-5, 105)
    ax.set_xticks([r.round for r in rows])
    labels = ax.twinx()
    labels.bar([r.round for r in rows], [r.labels for r in rows], color="gray", alpha=0.2,
               width=0.5, label="operator labels so far")
    labels.set_ylabel("operator labels so far")
    ax.set_zorder(labels.get_zorder() + 1)
    ax.patch.set_visible(False)
    handles = ax.get_legend_handles_labels()
    extra = labels.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="center right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_robot_report(run_dir: str | Path, title: str = "") -> str:
    """rounds.md and rounds.png in ``run_dir`` from its metrics.jsonl; returns the table.
    ConfigError names the file when there is nothing to report or a row is unreadable."""
    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (the trainer writes it after each round)")
    try:  # (read as rounds.read_metrics does; rounds imports this module)
        rows = [RoundMetrics.decode(line, str(path))
                for line in path.read_text().splitlines() if line.strip()]
    except RecordError as exc:
        raise ConfigError(str(exc)) from None
    if not rows:
        raise ConfigError(f"{path} has no rounds yet")
    if any(r.evaluated_by != "operator" for r in rows):
        raise ConfigError(f"{path} is a simulation's (rounds evaluated by the simulator): "
                          "its report is the main job's report.md")
    table = markdown_table(rows)
    title = title or f"HG-DAgger rounds paced by the operator ({run_dir.name})"
    (run_dir / "rounds.md").write_text(f"# {title}\n\n{table}\n\n{READING}\n")
    plot_rounds(rows, run_dir / "rounds.png", title)
    return table
