import os

from hypothesis import HealthCheck, settings

# Oracle tests call torch on random configurations: no per-example deadline (torch's first
# calls are slow), and a fixed seed in CI so that a red run can be replayed.
settings.register_profile(
    "default", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, max_examples=150,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")
