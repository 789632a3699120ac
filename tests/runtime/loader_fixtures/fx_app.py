from fx_common import TextApp

app = TextApp("fx_app:app")
