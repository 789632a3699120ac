from fcmigrate.cli import main

main()
