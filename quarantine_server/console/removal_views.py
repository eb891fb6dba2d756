"""Delete and restore: each shows a confirmation page first, and only a confirmed POST acts."""

from __future__ import annotations

from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from quarantine_server.console import backend, console
from quarantine_server.console.access import admin_required, audit, now
from quarantine_server.console.backend import services
from quarantine_server.console.items_views import report_outcomes, selected_ids
from quarantine_server.console.rows import ItemRow, item_row
from quarantine_server.models import Sample


def _rows(ids: list[int]) -> list[ItemRow]:
    with services().work() as db:
        samples = db.scalars(select(Sample).where(Sample.id.in_(ids)).order_by(Sample.id))
        moment = now()
        return [item_row(sample, moment) for sample in samples]


def _nothing_chosen() -> ResponseReturnValue:
    flash("None of the chosen items exist any more.", "error")
    return redirect(url_for("console.items"), 303)


@console.route("/items/delete")
@admin_required
def confirm_delete() -> ResponseReturnValue:
    rows = _rows(selected_ids())
    if not rows:
        return _nothing_chosen()
    return render_template("console/confirm_delete.html", rows=rows)


@console.route("/items/delete", methods=["POST"])
@admin_required
def delete_items() -> ResponseReturnValue:
    ids = selected_ids()
    if request.form.get("confirm") != "yes":
        return redirect(url_for("console.confirm_delete", ids=",".join(map(str, ids))), 303)
    audit("delete", ids)
    report_outcomes(backend.delete_samples(services(), ids), "deleted")
    return redirect(url_for("console.items"), 303)


def _restore_folders() -> list[str]:
    with services().work() as db:
        return list(services().config(db).general.restore_dirs)


def _subfolders(folder: str) -> list[str]:
    """Existing sub-folders one level down, offered as suggestions."""
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink())[:50]


def _restore_page(rows: list[ItemRow], error: str = "", status: int = 200) -> ResponseReturnValue:
    folders = _restore_folders()
    page = render_template(
        "console/confirm_restore.html",
        rows=rows,
        folders=folders,
        error=error,
        subfolders={f: _subfolders(f) for f in folders},
        chosen=request.form.get("folder_choice", ""),
        subfolder=request.form.get("subfolder", ""),
        other_folder=request.form.get("other_folder", ""),
    )
    return page, status


@console.route("/items/restore")
@admin_required
def confirm_restore() -> ResponseReturnValue:
    rows = _rows(selected_ids())
    return _restore_page(rows) if rows else _nothing_chosen()


@console.route("/items/restore", methods=["POST"])
@admin_required
def restore_items() -> ResponseReturnValue:
    ids = selected_ids()
    rows = _rows(ids)
    if not rows:
        return _nothing_chosen()
    if request.form.get("confirm") != "yes":
        return _restore_page(rows)
    choice = request.form.get("folder_choice", "")
    if choice == "other":
        choice = request.form.get("other_folder", "").strip()
    if not choice:
        return _restore_page(
            rows, "Choose one of the restore folders, or type a folder inside one.", 400
        )
    folder = backend.chosen_folder(choice, request.form.get("subfolder", ""))
    audit("restore", ids, f"into {folder}")
    outcomes = backend.restore_samples(services(), ids, folder)
    refused = [o for o in outcomes if not o.ok]
    if refused and len(refused) == len(outcomes):
        message = "Nothing was restored. " + " ".join(
            f"{o.file_name}: {o.message}" for o in refused
        )
        return _restore_page(rows, message, 400)
    report_outcomes(outcomes, f"restored into {folder}")
    return redirect(url_for("console.items"), 303)
