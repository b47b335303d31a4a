"""`python -m app` runs the same command line as the `mcp-tray` script."""

from app.main import main

raise SystemExit(main())
