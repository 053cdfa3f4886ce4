"""``import xlc.contrib.eager as tfe``: TF 1.x's ``tf.contrib.eager`` (see :mod:`xlc.frontend.eager.tfe`)."""

from __future__ import annotations

from xlc.frontend.eager.tfe import *  # noqa: F401,F403
from xlc.frontend.eager.tfe import __all__  # noqa: F401
