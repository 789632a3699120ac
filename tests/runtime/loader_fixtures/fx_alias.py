from fx_common import TextApp

app = TextApp("fx_alias:app")
application = app
