"""A ROS 2 user's path: `colcon build` into a fresh workspace gives a usable install space."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODES = ["mujoco_bridge", "expert", "policy", "supervisor", "recorder", "trainer"]


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    if shutil.which("colcon") is None:
        pytest.fail("colcon is not installed: run the tests through ./dev.sh test")
    ws = tmp_path_factory.mktemp("colcon_ws")
    proc = subprocess.run(
        ["colcon", "--log-base", str(ws / "log"), "build", "--base-paths", str(ROOT),
         "--build-base", str(ws / "build"), "--install-base", str(ws / "install")],
        cwd=ws, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ws / "install"


def test_install_space_layout(install):
    share = install / "dagger_ros" / "share" / "dagger_ros"
    assert (share / "package.xml").is_file()
    assert {p.name for p in (share / "launch").iterdir()} == {"sim.launch.py",
                                                              "robot.launch.py"}
    assert {"sim_reach.yaml", "sim_drive.yaml", "robot.yaml"} <= {
        p.name for p in (share / "config").iterdir()}
    index = install / "dagger_ros" / "share" / "ament_index" / "resource_index" / "packages"
    assert (index / "dagger_ros").is_file()
    lib = install / "dagger_ros" / "lib" / "dagger_ros"
    for node in NODES + ["dagger-ros"]:
        assert os.access(lib / node, os.X_OK), f"missing executable lib/dagger_ros/{node}"
    models = list(install.glob("dagger_ros/lib/python3*/site-packages/dagger_ros/models/*.xml"))
    assert {m.name for m in models} == {"reach.xml", "reach_position.xml", "reach_camera.xml",
                                          "drive.xml"}


def test_installed_package_runs_from_the_install_space(install):
    site = next(install.glob("dagger_ros/lib/python3*/site-packages"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [str(install / "dagger_ros" / "lib" / "dagger_ros" / "dagger-ros"), "expert-eval",
         "--task", "reach", "--episodes", "3"],
        capture_output=True, text=True, timeout=120, env=env, cwd=install)
    assert proc.returncode == 0, proc.stderr
    assert "success 100.0% over 3" in proc.stdout
    check = subprocess.run(["python", "-c", "import dagger_ros; print(dagger_ros.__file__)"],
                           capture_output=True, text=True, env=env, cwd=install)
    assert check.stdout.startswith(str(site))  # the installed copy, not the source tree
