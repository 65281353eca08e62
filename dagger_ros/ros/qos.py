"""QoS profiles shared by the nodes."""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

#: every observation, action and decision must arrive: reliable, with room for bursts
STREAM = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                    reliability=ReliabilityPolicy.RELIABLE)
#: readers that must see every sample (watchers, the recorder): nothing dropped on their side
EVERY_SAMPLE = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)
#: episode events: reliable, and latched so a late joiner learns the current episode
EVENTS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                    reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: /clock: only the newest matters
CLOCK = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                   reliability=ReliabilityPolicy.BEST_EFFORT)
#: a robot's sensor topics as drivers publish them (joint_state_broadcaster, odometry,
#: perception): reliable readers would not match best-effort publishers, so read best
#: effort; only the newest message matters
SENSOR = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                    reliability=ReliabilityPolicy.BEST_EFFORT)
