"""``fcmigrate local``: FC's front door on the developer's machine, without Docker."""
