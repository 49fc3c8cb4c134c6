"""`python -m healthdesk`: the same as the `healthdesk` command."""

from healthdesk.cli import main

raise SystemExit(main())
