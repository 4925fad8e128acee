"""pytest, run from the repository: the doctests of ``convmat/`` are collected with the tests.

``convmat.network`` needs PyTorch (an optional extra): without it, its modules' doctests are
skipped like the oracle tests, not failed on import.
"""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["convmat/network*.py"]
