"""Settings for pytest: the test profile of lims.settings."""

import os

os.environ["LIMS_ENV"] = "test"

from lims.settings import *  # noqa: F403
