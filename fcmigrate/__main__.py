import sys

if sys.argv[1:2] == ["serve"]:
    # What FC starts on every cold start: straight to the command, without click.
    from fcmigrate.serve import main as serve_main

    sys.exit(serve_main(sys.argv[2:]))

from fcmigrate.cli import main

sys.exit(main())
