from flask import Flask


def create_app():
    app = Flask(__name__)

    @app.get("/")
    def home():
        return "factory_with_wsgi"

    return app
