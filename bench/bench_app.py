"""The real app plus two reference routes served by the same gunicorn workers.

- GET  /__bench/constant: a constant response of the programme page's size.
- POST /__bench/post: a trivial POST handler (reads the form, answers 200).
"""

from flask import Response, request

from app import create_app
from app.extensions import csrf

app = create_app()
_CONSTANT = b""


@app.get("/__bench/constant")
def constant() -> Response:
    """Same size as the programme page, no work."""
    return Response(_CONSTANT, mimetype="text/html")


@app.post("/__bench/post")
@csrf.exempt
def trivial_post() -> Response:
    """Reads the form like a real handler would, then answers."""
    return Response(f"ok {len(request.form)}", mimetype="text/plain")


# Routes are in place: now render the page once to size the constant response.
with app.test_client() as _client:
    _CONSTANT = b"x" * len(_client.get("/").get_data())
