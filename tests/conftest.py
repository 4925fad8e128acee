import os

from hypothesis import HealthCheck, settings

# Oracle tests call torch on random configurations: no per-example deadline (torch's first
# calls are slow), and a fixed seed in CI so that a red run can be replayed.
# HYPOTHESIS_PROFILE=thorough runs many more examples, for a long soak before a release.
settings.register_profile(
    "default", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, max_examples=150,
)
settings.register_profile("thorough", parent=settings.get_profile("default"),
                          max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI")
                                     else "default"))
