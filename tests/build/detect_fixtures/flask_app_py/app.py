from flask import Flask

app = Flask(__name__)


@app.get("/")
def home():
    return "flask_app_py"


if __name__ == "__main__":
    app.run()
