"""The dashboard and the journal."""

from __future__ import annotations

from flask import render_template

from .. import bp
from ..charts import bar_chart
from ..dashboard import dashboard as dashboard_figures
from ..journal import describe_action, describe_detail, describe_target, recent_actions


@bp.get("/")
def dashboard() -> str:
    """Per-episode figures, sign-ups per day, kinds of organisation."""
    data = dashboard_figures()
    return render_template("facilitator/dashboard.html", data=data, chart=bar_chart(data.per_day))


@bp.get("/journal")
def journal() -> str:
    """Who changed what, when (latest first)."""
    return render_template(
        "facilitator/journal.html",
        actions=recent_actions(),
        describe_action=describe_action,
        describe_target=describe_target,
        describe_detail=describe_detail,
    )
