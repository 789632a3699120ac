import sys

from fcmigrate.cli import main

sys.exit(main())
