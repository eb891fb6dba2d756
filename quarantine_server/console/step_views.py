"""Step mode for trainers: see which samples wait before their next move, and let them go.

The gate itself is shared with the back office and the CLI (``dis step``) through files in
the data directory (:mod:`dis_core.stepping`); this page only shows and opens it.
"""

from __future__ import annotations

from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dis_core.stepping import StepGate
from quarantine_server.console import console
from quarantine_server.console.access import admin_required
from quarantine_server.console.backend import services


def _gate() -> StepGate:
    config = services().base_config
    return StepGate(Path(config.general.data_dir), enabled=config.clock.step_mode)


@console.route("/step")
def step_mode() -> ResponseReturnValue:
    gate = _gate()
    return render_template(
        "console/step.html", active=gate.active(), waiting=gate.waiting(), forced=gate.enabled
    )


@console.route("/step", methods=["POST"])
@admin_required
def step_action() -> ResponseReturnValue:
    gate, action = _gate(), request.form.get("action", "")
    if action == "on":
        gate.switch(True)
        flash("Step mode is on: every sample now pauses before its next move.")
    elif action == "off":
        gate.switch(False)
        flash("Step mode is off: waiting samples go on.")
    elif action == "go":
        key = request.form.get("key") or None
        released = gate.release(key)
        flash(f"{released} sample{'' if released == 1 else 's'} may make the next move.")
    else:
        flash("Unknown step-mode action.", "error")
    return redirect(url_for("console.step_mode"))
