"""``dis fixtures ...``: make a corpus of simulated samples with its manifest."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from simworld.generator import FAMILIES, GeneratorError, write_corpus


@click.group("fixtures")
def fixtures_group() -> None:
    """Simulated samples (SimVM binaries, SimVBA documents, clean and data files)."""


@fixtures_group.command("generate")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the samples and manifest.json into.",
)
@click.option("--seed", required=True, type=int, help="Seed: the same seed gives the same files.")
@click.option(
    "--families",
    default="",
    help=f"Comma-separated families (default: all). Known: {', '.join(FAMILIES)}.",
)
@click.option("--variants", default=1, show_default=True, type=int, help="Samples per family.")
def generate(out: str, seed: int, families: str, variants: int) -> None:
    """Write samples of each family and manifest.json (expected outcomes, for QA only)."""
    chosen = [f.strip() for f in families.split(",") if f.strip()] or None
    try:
        document = write_corpus(Path(out), seed, chosen, variants)
    except (GeneratorError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    counts = Counter(entry["family"] for entry in document["samples"])
    click.echo(
        f"wrote {len(document['samples'])} samples of {len(counts)} families to {out} (seed {seed})"
    )


COMMANDS = [fixtures_group]
