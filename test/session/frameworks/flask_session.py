"""Writes a Flask session through Flask's own cookie session and prints what it set.

Reads {"secretKey": ..., "payload": {...}} on stdin; prints {"setCookie": [...]} on stdout.
"""
import json
import sys

from flask import Flask, session

args = json.load(sys.stdin)
app = Flask("greenlight_session_test")
app.secret_key = args["secretKey"]


@app.route("/")
def login():
    session.update(args["payload"])
    return "ok"


with app.test_client() as client:
    response = client.get("/")
    json.dump({"setCookie": response.headers.getlist("Set-Cookie")}, sys.stdout)
