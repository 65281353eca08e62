"""QoS profiles shared by the nodes."""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

#: every observation, action and decision must arrive: reliable, with room for bursts. A
#: reliable KEEP_LAST writer drops its oldest sample once ``depth`` are unacknowledged, so
#: the depth is how long a reader may stall: at 200 (under a second of lockstep), a recorder
#: starved of CPU beside two other graphs and a training lost one frame mid-episode
STREAM = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2000,
                    reliability=ReliabilityPolicy.RELIABLE)
#: readers that must see every sample (watchers, the recorder): nothing dropped on their side
EVERY_SAMPLE = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)
#: a stream whose last samples a reader matched late still gets (decisions, observation
#: images): the simulator starts an episode once its observation writer has matched the
#: recorder, but the supervisor's decision writer may match it a moment later, and the
#: episode's first decision was lost (seen with two graphs side by side on 2 cores: the
#: recorder waited for that frame for ever). Volatile readers still match.
LATCHED_STREAM = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2000,
                            reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: the same for images (96x96 RGB: 27 KB each, so 500 are ~14 MB kept by the writer)
LATCHED_IMAGES = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=500,
                            reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: the recorder's reader of a LATCHED_STREAM: every sample, and what it missed by matching late
EVERY_SAMPLE_LATCHED = QoSProfile(history=HistoryPolicy.KEEP_ALL,
                                  reliability=ReliabilityPolicy.RELIABLE,
                                  durability=DurabilityPolicy.TRANSIENT_LOCAL)
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
