import sys

if sys.argv[1:2] == ["serve"]:
    # What FC starts on every cold start: straight to the command, without click.
    from fcmigrate.runtime.serve import main as serve_main

    sys.exit(serve_main(sys.argv[2:]))

try:
    from fcmigrate.cli import main
except ModuleNotFoundError as exc:
    if exc.name != "fcmigrate.cli":
        raise
    # A build carries fcmigrate's runtime only (fcmigrate.build.runtime_files).
    print(
        "Error: this copy of fcmigrate is the runtime a build carries: it runs only "
        "'python -m fcmigrate serve APP'. Install fcmigrate for its other commands.",
        file=sys.stderr,
    )
    sys.exit(2)

sys.exit(main())
