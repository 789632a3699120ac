from fx_common import TextApp

application = TextApp("fx_pkg.wsgi:application")
