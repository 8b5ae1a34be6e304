"""``python -m kmw``: the ``kmw`` command line (see :mod:`kmw.cli`)."""

from kmw.cli import main

raise SystemExit(main())
