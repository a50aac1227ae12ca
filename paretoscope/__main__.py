"""``python -m paretoscope`` is the ``paretoscope`` command."""

import sys

from paretoscope.cli import main

sys.exit(main())
