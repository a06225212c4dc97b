from booth_server.cli import main

raise SystemExit(main())
