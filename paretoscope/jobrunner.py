"""``python -m paretoscope.jobrunner``: the documented form of the job runner, kept working.

The runner lives in ``paretoscope.jobs.runner``; this module only forwards to it.
"""

import sys

from paretoscope.jobs.runner import main

if __name__ == "__main__":
    sys.exit(main())
