"""``python -m mak``: the command line."""

from mak.cli import main

raise SystemExit(main())
