"""The floor: a bare Flask app that parses the same hook bodies and answers no cards."""
from flask import Flask, request

app = Flask(__name__)


@app.post("/cds-services/<service_id>")
def hook(service_id: str):
    request.get_json()
    return {"cards": []}
