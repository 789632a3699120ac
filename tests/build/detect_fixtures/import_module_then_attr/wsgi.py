import app

application = app.app
