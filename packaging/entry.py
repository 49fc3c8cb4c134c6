"""The bundle's entry point (packaging/healthdesk.spec): the same as the `healthdesk` command."""

from healthdesk.cli import main

raise SystemExit(main())
