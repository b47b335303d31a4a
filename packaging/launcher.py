"""Entry script of the frozen app: the same command line as `mcp-tray` and `python -m app`."""

from app.main import main

raise SystemExit(main())
