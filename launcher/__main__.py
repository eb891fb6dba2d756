"""``python -m launcher``: the ``dis`` command (how the launcher starts each part's process)."""

import sys

from launcher.main import main

sys.exit(main())
