from masker.cli import main

raise SystemExit(main())
