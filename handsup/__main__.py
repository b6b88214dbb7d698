import sys

from handsup.cli import main

sys.exit(main())
