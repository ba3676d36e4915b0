"""``python -m astromask.maximask``: download the MaxiMask/MaxiTrack weights into the cache (see ``weights``)."""

import sys

from .weights import main

sys.exit(main())
