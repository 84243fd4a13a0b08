"""``python -m caretaker.cli.kubectl``: the same as the ``kubectl-caretaker`` script."""

import sys

from caretaker.cli.kubectl.command import main

sys.exit(main())
