"""QoS profiles shared by the nodes."""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

#: every observation, action and decision must arrive: reliable, with room for bursts
STREAM = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                    reliability=ReliabilityPolicy.RELIABLE)
#: the writers of those streams: a reliable KEEP_LAST writer drops its oldest sample once
#: ``depth`` are unacknowledged, so its depth is how long a reader that must see every
#: sample (the recorder) may stall. At 200 (under a second of lockstep) a recorder starved
#: of CPU beside two other graphs and a training lost one frame mid-episode. Readers keep
#: STREAM's 200: a control-path reader back from a stall has less stale input to wade
#: through (depth is not part of QoS matching)
STREAM_WRITER = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2000,
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


def latched_images(frame_bytes: int) -> QoSProfile:
    """LATCHED_STREAM for images, as deep as 64 MB of them allow (2,000 at most, 10 at
    least: a 96x96 RGB camera keeps 2,000, about 40 s at 50 Hz; a 640x480 one 69)."""
    depth = max(10, min(2000, (64 << 20) // max(frame_bytes, 1)))
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
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
