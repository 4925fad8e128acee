"""``python -m convmat``: the same as the ``convmat`` command."""

import sys

from .cli import main

sys.exit(main())
