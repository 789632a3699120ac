INSTALLED_APPS = []
WSGI_APPLICATION = "site_cfg.entry.application"
