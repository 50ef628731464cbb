"""``python -m sandbox``: serve the ConnectWise sandbox (see ``sandbox.server.main``)."""

import sys

from sandbox.server import main

sys.exit(main(sys.argv[1:]))
