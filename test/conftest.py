"""Test-run isolation: this run's own ROS 2 domain, discovery kept to this machine, logs in
a temporary folder. Set before rclpy is imported anywhere, inherited by every node process."""

import os
import tempfile

# one domain per test run (pid-based, 1..100), unless the caller chose one
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
os.environ.setdefault("ROS_LOG_DIR", tempfile.mkdtemp(prefix="dagger_ros_test_logs_"))
