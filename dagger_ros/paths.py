"""Where the package's own files are: shipped configs, in a source tree or an install."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def share_dir() -> Path:
    """The package's share folder when colcon installed it, else the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("dagger_ros"))
    except Exception:  # not installed by colcon: the source tree's config/ is used
        return PACKAGE_ROOT


def shipped_config(name: str) -> Path:
    """A config file by path, or by name from the package's config/ folder."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path
    for base in (PACKAGE_ROOT / "config", share_dir() / "config"):
        candidate = base / f"{name}.yaml"
        if candidate.exists():
            return candidate
    return path
