"""``python -m fcmigrate.statics BUILD_DIR SETTINGS_MODULE``: the documented command that
collects a Django project's static files inside an image; the work is in
:mod:`fcmigrate.build.collectstatic`."""

import sys

from fcmigrate.build.collectstatic import main

if __name__ == "__main__":
    sys.exit(main())
