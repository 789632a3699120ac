print("a manage.py that never sets DJANGO_SETTINGS_MODULE")
