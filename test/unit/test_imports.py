"""The package's imports form no circle (counting imports inside functions too), and core
never imports rclpy or a message package."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dagger_ros"
ROS_MODULES = ("rclpy", "std_msgs", "sensor_msgs", "geometry_msgs", "std_srvs",
               "diagnostic_msgs", "rosgraph_msgs", "builtin_interfaces", "rcl_interfaces",
               "launch", "launch_ros")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The dagger_ros modules ``path`` imports (``from pkg import submodule`` counts as the
    submodule), and the top-level names of everything else it imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                out.add(candidate if candidate in modules else node.module)
    return out


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path, set(files)) for name, path in files.items()}


def test_no_import_circle():
    edges = graph()
    internal = {m: {d for d in deps if d in edges and d != m} for m, deps in edges.items()}
    state: dict[str, str] = {}

    def visit(module, trail):
        state[module] = "open"
        for dep in sorted(internal[module]):
            if state.get(dep) == "open":
                cycle = trail[trail.index(dep):] + [dep]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, trail + [dep])
        state[module] = "done"

    for module in sorted(internal):
        if module not in state:
            visit(module, [module])


def test_core_imports_no_ros():
    for name, deps in graph().items():
        if name.startswith("dagger_ros.core"):
            ros = {d for d in deps if d.split(".")[0] in ROS_MODULES}
            assert not ros, f"{name} imports {sorted(ros)}"
