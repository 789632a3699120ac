"""A small, ordinary Flask app used in tests, demos and benchmarks.

It knows nothing about Function Compute or any adapter: at most it reads the
optional ``fc.request_id`` key from the plain WSGI environ.
"""

from __future__ import annotations

import time

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, url_for

app = Flask(__name__)

MAX_SLEEP_SECONDS = 30.0

# In-memory store: per process, reset on restart. Good enough for a sample.
ITEMS: list[dict[str, object]] = [
    {"id": 1, "name": "apple"},
    {"id": 2, "name": "banana"},
]


@app.get("/")
def home():
    return render_template("home.html")


@app.get("/hello/<name>")
def hello(name: str):
    return render_template("hello.html", name=name)


@app.get("/api/items")
def list_items():
    return jsonify(ITEMS)


@app.post("/api/items")
def create_item():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return jsonify({"error": 'expected a JSON object with a non-empty "name"'}), 400
    item = {"id": len(ITEMS) + 1, "name": data["name"]}
    ITEMS.append(item)
    return jsonify(item), 201, {"Location": url_for("list_items")}


@app.get("/whoami")
def whoami():
    # Deliberately dumps every request header: tests use it to prove that
    # credential headers were stripped before the request reached the app.
    return jsonify(
        script_name=request.script_root,
        path=request.path,
        url=request.url,
        url_for_hello=url_for("hello", name="x"),
        request_id=request.environ.get("fc.request_id"),
        headers=dict(request.headers),
    )


@app.get("/go")
def go():
    return redirect(url_for("home"))


@app.route("/form", methods=["GET", "POST"])
def form():
    submitted = request.form.get("message") if request.method == "POST" else None
    return render_template("form.html", submitted=submitted)


@app.get("/slow")
def slow():
    try:
        seconds = float(request.args.get("s", "2"))
    except ValueError:
        abort(400)
    if seconds != seconds:  # NaN
        abort(400)
    time.sleep(min(max(seconds, 0.0), MAX_SLEEP_SECONDS))
    return "done"


@app.get("/boom")
def boom():
    raise RuntimeError("boom: deliberate failure from the sample app")


@app.get("/status/<int:code>")
def status(code: int):
    if not 200 <= code <= 599:
        abort(400)
    if code in (204, 304):  # no body, no Content-Type
        empty = Response(status=code)
        del empty.headers["Content-Type"]
        return empty
    return f"status {code}\n", code, {"Content-Type": "text/plain; charset=utf-8"}


@app.post("/events")
def events():
    body = request.get_data()
    return jsonify(received=len(body), body=body.decode("utf-8", errors="replace"))


if __name__ == "__main__":
    app.run(debug=True)
