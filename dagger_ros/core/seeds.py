"""Figures over several seeds: the mean of each round and how far it may be from the truth.

A method run with N seeds gives N learning curves (round by round: expert labels, success
on the held-out evaluation seeds, intervention rate). Their mean is reported with a 95%
confidence interval of the mean (Student's t with N - 1 degrees of freedom: with 3 seeds
it is mean +- 4.30 x std / sqrt 3, wide on purpose; shown clipped to 0-100%) and the
range seen.
"""

from __future__ import annotations

import math

import numpy as np

#: Student's t, 0.975 quantile, by degrees of freedom (beyond the table: 1.96)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def t975(dof: int) -> float:
    """The 0.975 quantile of Student's t (the nearest tabulated degrees of freedom below)."""
    if dof < 1:
        return math.nan
    known = [d for d in T975 if d <= dof]
    return T975[max(known)] if dof <= 30 else 1.96


def mean_ci(values) -> tuple[float, float]:
    """(mean, half-width of its 95% confidence interval; 0 for a single value)."""
    x = np.asarray([v for v in values if v is not None], float)
    if not len(x):
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), 0.0
    return float(x.mean()), float(t975(len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def across_seeds(runs: list[list[dict]]) -> list[dict]:
    """Round by round over the seeds' rows (rounds every seed reached): mean labels and
    their range, mean success with its 95% interval and range, mean intervention rate."""
    if not runs:
        return []
    out = []
    for i in range(min(len(r) for r in runs)):
        rows = [r[i] for r in runs]
        labels = [row["labels"] for row in rows]
        success = [row["success_rate"] for row in rows]
        rates = [row.get("intervention_rate") for row in rows]
        mean, half = mean_ci(success)
        known = [r for r in rates if r is not None]
        out.append({"round": rows[0].get("round", i), "seeds": len(rows),
                    "labels": float(np.mean(labels)), "labels_min": min(labels),
                    "labels_max": max(labels), "success_rate": mean, "success_ci95": half,
                    "success_min": min(success), "success_max": max(success),
                    "intervention_rate": float(np.mean(known)) if known else None})
    return out


def success_at(rows: list[dict], budget: float) -> float | None:
    """Success of the last round whose labels fit in the budget (None: none fits)."""
    fit = [r for r in rows if r["labels"] <= budget]
    return fit[-1]["success_rate"] if fit else None


def success_at_budget(runs: list[list[dict]], budget: float) -> dict:
    """Each seed's success at ``budget`` labels, their mean and 95% interval."""
    per_seed = [success_at(rows, budget) for rows in runs]
    mean, half = mean_ci(per_seed)
    return {"per_seed": per_seed, "mean": mean, "ci95": half,
            "seeds_within": sum(s is not None for s in per_seed)}


def fmt_ci(mean: float, half: float) -> str:
    """'85% [73-97]': the mean and its 95% interval in percent, clipped to 0-100; '-'."""
    if mean is None or math.isnan(mean):
        return "-"
    if round(100 * half) < 1:
        return f"{100 * mean:.0f}%"
    low, high = max(0.0, mean - half), min(1.0, mean + half)
    return f"{100 * mean:.0f}% [{100 * low:.0f}-{100 * high:.0f}]"
