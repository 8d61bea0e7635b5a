"""The real app plus reference routes served by the same gunicorn workers.

- `application` (what gunicorn serves): a raw WSGI callable answering GET /__raw with the
  programme page's own bytes and headers, captured once, without Flask; everything else
  goes to the app, its shared-page cache included. The yardstick for `/`.
- GET  /__bench/constant: a constant response of the programme page's size (a Flask route).
- POST /__bench/post: a trivial POST handler (reads the form, answers 200).
- POST /__bench/form: the registration's yardstick: validates the same form (CSRF token,
  every field, the honeypot) and commits one row to the same database, with the same
  durability settings, then answers a short fragment.
"""

from flask import Response, request

from app import create_app
from app.clock import utcnow
from app.database import write
from app.extensions import csrf, db
from app.models import LinkRequest
from app.programme.services import load_programme_view
from app.registration.forms import RegistrationForm

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


@app.post("/__bench/form")
def validate_and_commit_one_row() -> Response:
    """What any registration must do at least: check the form, commit one row."""
    view = load_programme_view()
    form = RegistrationForm.offering(view.upcoming(utcnow()))
    if not form.validate():
        return Response(str(form.errors), status=422)
    with write():
        db.session.add(LinkRequest(series_id=view.series.id, email=form.email.data))
    return Response("<p>ok</p>", mimetype="text/html")


# Routes are in place: now render the page once to size the constant response, and keep
# its bytes and headers for the raw WSGI yardstick.
with app.test_client() as _client:
    _PAGE = _client.get("/")
    _CONSTANT = b"x" * len(_PAGE.get_data())
_RAW_BODY = _PAGE.get_data()
_RAW_HEADERS = [(k, v) for k, v in _PAGE.headers.items() if k.lower() != "x-cache"]


def application(environ, start_response):  # type: ignore[no-untyped-def]
    """The same bytes as `/`, from a plain WSGI function: the limit for a shared page."""
    if environ.get("PATH_INFO") == "/__raw":
        start_response("200 OK", _RAW_HEADERS)
        return [_RAW_BODY]
    return app(environ, start_response)
