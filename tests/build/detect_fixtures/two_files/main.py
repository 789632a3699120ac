from flask import Flask

app = Flask("other")
