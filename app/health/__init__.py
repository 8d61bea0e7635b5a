"""Liveness and database check for deployments: /healthz proves the database takes writes."""

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, write
from ..extensions import db
from ..models import HealthCheck

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers and takes a write, 503 otherwise (a write-locked or
    full disk answers 503 too, where a mere SELECT would still pass)."""
    try:
        with write():
            insert_ignoring_conflicts(HealthCheck, [{"id": 1, "checked_at": utcnow()}], ["id"])
            db.session.execute(sa.update(HealthCheck).filter_by(id=1).values(checked_at=utcnow()))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok"), 200
