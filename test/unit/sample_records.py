"""Typed records for tests that build frames and episodes by hand."""

from dagger_ros.core.records import DecisionRecord, EpisodeEnd, Outcome, Reason, Source

CHECKPOINT = "c0ffee00decafbad"  # a checkpoint content id: 16 hexadecimal digits


def decision(stamp, source="expert", round_index=0, expert_action=(1.0, 2.0),
             reason="beta_draw", policy_action=None, executed_action=None, label="",
             beta=0.5, **extra) -> DecisionRecord:
    """A decision record like the supervisor's; a policy decision proposes [0.5, 0.5]."""
    source = Source(source)
    if policy_action is None and source is Source.POLICY:
        policy_action = [0.5, 0.5]
    if executed_action is None:
        executed_action = list(policy_action if source is Source.POLICY else
                               expert_action or [0.0, 0.0])
    values = dict(
        stamp_ns=stamp, frame=label or f"0:{stamp}", source=source, reason=Reason(reason),
        value=None, threshold=None, beta=beta, round=round_index,
        checkpoint_id=CHECKPOINT if round_index else None, gating="beta",
        label_source="scripted/x",
        uncertainty=0.2 if policy_action is not None else None,
        expert_action=None if expert_action is None else list(expert_action),
        intervention=False, policy_action=policy_action, executed_action=executed_action,
        clamped=False, sent=True, stale=None)
    values.update(extra)
    return DecisionRecord(**values)


def end(episode, seed, outcome, steps, session="") -> EpisodeEnd:
    return EpisodeEnd(episode=episode, seed=seed, outcome=Outcome(outcome), steps=steps,
                      session=session)
