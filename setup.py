"""ament_python package: colcon installs the node executables to lib/dagger_ros."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "dagger_ros"
NODES = ["mujoco_bridge", "expert", "policy", "supervisor", "recorder", "trainer",
         "sim_operator", "observer"]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={PACKAGE: ["models/*.xml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/config/profiles", glob("config/profiles/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="dagger_ros developers",
    maintainer_email="dagger-ros@example.com",
    description="Interactive imitation learning (DAgger family) for ROS 2 and MuJoCo.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [f"{n} = {PACKAGE}.nodes.{n}:main" for n in NODES]
        + [f"dagger-ros = {PACKAGE}.cli:main"],
    },
)
