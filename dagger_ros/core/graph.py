"""The node graph as data: which config dataclass each node reads, how each node is run
(critical, respawned, or the one whose end ends the run), and whole-file checks.

Executable name = module name = node name = the YAML section key. ``launch_plan`` is the
one definition both ``dagger-ros run`` (launcher.py) and the launch files start from.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dagger_ros.core.bridge import BridgeConfig
from dagger_ros.core.config import WILDCARD, ConfigError, from_mapping, load_yaml, node_sections
from dagger_ros.core.experts import ExpertConfig
from dagger_ros.core.observer import ObserverConfig
from dagger_ros.core.operator import SimOperatorConfig
from dagger_ros.core.policy_runtime import PolicyConfig
from dagger_ros.core.recording import RecorderConfig
from dagger_ros.core.rounds import TrainerConfig
from dagger_ros.core.supervisor import SupervisorConfig

#: node name -> its parameter dataclass
NODE_CONFIGS: dict[str, type] = {"mujoco_bridge": BridgeConfig, "expert": ExpertConfig,
                                 "policy": PolicyConfig, "supervisor": SupervisorConfig,
                                 "recorder": RecorderConfig, "trainer": TrainerConfig,
                                 "sim_operator": SimOperatorConfig,
                                 "observer": ObserverConfig}
NODES = ("mujoco_bridge", "observer", "sim_operator", "expert", "policy", "supervisor", "recorder",
         "trainer")
ROS_OWN = ("use_sim_time",)

#: nothing commands the robot safely without these: their exit ends the run
CRITICAL = ("mujoco_bridge", "supervisor")
#: restarted when they die (a restarted policy takes over again, a restarted recorder
#: recovers the dataset and appends; meanwhile the supervisor holds or the expert acts)
RESPAWN = ("observer", "policy", "expert", "recorder", "sim_operator")
MAX_RESTARTS = 5  # per node per minute
RESTART_DELAY_S = 1.0


@dataclasses.dataclass(frozen=True)
class NodePlan:
    """How one node of a graph is run."""

    name: str  # = executable = YAML section
    critical: bool  # its exit (any code) ends the run
    respawn: bool  # restarted when it dies
    #: its clean exit (code 0) ends the run: it finished its job (the bridge after its
    #: episodes, the trainer after its rounds); every node has this
    finishes_run: bool = True
    #: other nodes this process runs (a lockstep bridge's ``in_process``)
    hosts: tuple[str, ...] = ()
    #: SCHED_FIFO priority of the process (0: the normal scheduler)
    realtime_priority: int = 0

    @property
    def executable(self) -> str:
        return self.name


def launch_plan(configs: dict[str, Any], critical: tuple[str, ...] = CRITICAL
                ) -> list[NodePlan]:
    """The processes a validated graph (``load_graph``'s result) starts, in start order,
    with their fault rules. ``critical`` adds nodes the run cannot go on without (the main
    job adds the trainer, which drives its rounds). Nodes a lockstep bridge hosts
    (``in_process``) run in its process, which is critical: it is the bridge."""
    bridge = configs.get("mujoco_bridge")
    hosted = tuple(bridge.in_process) if bridge is not None else ()
    return [NodePlan(name, critical=name in critical, respawn=name in RESPAWN,
                     hosts=hosted if name == "mujoco_bridge" else (),
                     realtime_priority=getattr(configs[name], "realtime_priority", 0))
            for name in NODES if name in configs and name not in hosted]


def load_graph(path: str | Path) -> dict[str, Any]:
    """Validate every node section of a graph YAML; returns node name -> config object.

    Unknown node names, unknown keys, wrong types and cross-field errors raise ConfigError
    naming the node, the key and the file. The ``/**`` section is shared by all nodes; a key
    there must belong to at least one of them.
    """
    path = Path(path)
    sections = node_sections(load_yaml(path), str(path))
    shared = sections.pop(WILDCARD, {})
    if not sections:
        raise ConfigError(f"{path} names no nodes; expected sections among {', '.join(NODES)}")
    configs = {}
    for name, values in sections.items():
        if name not in NODES:
            raise ConfigError(f"unknown node '{name}' in {path}; nodes: {', '.join(NODES)}")
        cls = NODE_CONFIGS.get(name)
        if cls is None:
            raise ConfigError(f"node '{name}' in {path} is not implemented yet")
        own = {k: v for k, v in values.items() if k not in shared or k in _fields(cls)}
        configs[name] = from_mapping(cls, own, source=str(path), section=name, ignore=ROS_OWN)
    for key in shared:
        if key not in ROS_OWN and not any(key in _fields(NODE_CONFIGS[n]) for n in configs):
            raise ConfigError(f"unknown key '{key}' (in section '{WILDCARD}', file {path}): "
                              "no node of this graph declares it")
    bridge, supervisor = configs.get("mujoco_bridge"), configs.get("supervisor")
    missing = [n for n in (bridge.in_process if bridge else []) if n not in configs]
    if missing:
        raise ConfigError(f"'mujoco_bridge.in_process' names {', '.join(missing)}, which "
                          f"{path} does not configure (no section)")
    if bridge and supervisor and (bridge.stepping, supervisor.stepping) == ("realtime",
                                                                              "lockstep"):
        raise ConfigError(f"'supervisor.stepping' is lockstep but 'mujoco_bridge.stepping' is "
                          f"realtime in {path}: late inputs would drive a simulation that does "
                          f"not wait; set 'stepping' once, in the '{WILDCARD}' section")
    return configs


def _fields(cls: type) -> set[str]:
    return set(cls.__dataclass_fields__)
