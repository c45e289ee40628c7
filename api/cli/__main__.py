"""`python -m api.cli` is `bkgdb`."""

import sys

from api.cli import main

sys.exit(main())
