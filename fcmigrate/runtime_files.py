"""``python -m fcmigrate.runtime_files SITE_PACKAGES``: the documented command that copies
fcmigrate's runtime into an image; the work is in :mod:`fcmigrate.build.runtime_files`."""

import sys

from fcmigrate.build.runtime_files import main

if __name__ == "__main__":
    sys.exit(main())
