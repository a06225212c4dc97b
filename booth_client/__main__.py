"""``python -m booth_client`` = ``lapak-asik booth``."""

from booth_client.cli import main

raise SystemExit(main())
