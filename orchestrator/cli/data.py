"""``cit generate-data``: deterministic synthetic data for a schema or a contract's input.

Each command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..data.formats import DataFormat
from ..errors import CitError
from . import options
from .command import emit_summary, say, user_errors

if TYPE_CHECKING:
    from ..data.schemas import DataSchema


def generate_data_command(
    rows: Annotated[int, typer.Option(min=0, help="Rows to generate.")],
    output: Annotated[Path, typer.Option(help="Folder to write data.<format> into.")],
    schema: Annotated[
        Path | None, typer.Option(help="Schema file (YAML or JSON) the data must satisfy.")
    ] = None,
    contract: Annotated[
        Path | None, typer.Option(help="Script contract whose input schema (--input) to use.")
    ] = None,
    input_name: Annotated[
        str | None, typer.Option("--input", help="Input of --contract to generate data for.")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same bytes.")] = 0,
    data_format: Annotated[
        DataFormat | None,
        typer.Option("--format", help="csv or parquet (default: the schema's format, else csv)."),
    ] = None,
    json_output: options.Json = False,
) -> None:
    """Write deterministic synthetic data that satisfies a schema (or a contract's input)."""
    from ..data import synthetic

    with user_errors():
        declared = _generation_schema(schema, contract, input_name)
        fmt = synthetic.data_format(declared, data_format)
        about = {"schema": declared.source, "rows": rows, "seed": seed, "format": fmt}
        files = synthetic.generate_into(output, declared, rows, seed, fmt, **about)
    where = str(files[0]) if len(files) == 1 else "each of " + ", ".join(map(str, files))
    if rows < declared.min_rows:
        where += f"; the schema asks for at least {declared.min_rows}"
    say(f"wrote {rows} rows to {where}")
    emit_summary("generate-data", files=[str(file) for file in files], details={"rows": rows})


def _generation_schema(
    schema: Path | None, contract: Path | None, input_name: str | None
) -> DataSchema:
    """The schema of --schema, or of --contract's input --input."""
    from ..data.contracts import load_contract
    from ..data.schemas import load_schema
    from ..data.synthetic import schema_for_input

    if schema is not None and contract is None and input_name is None:
        return load_schema(schema)
    if schema is None and contract is not None and input_name is not None:
        return schema_for_input(load_contract(contract), input_name)
    raise CitError("give --schema FILE, or --contract FILE with --input NAME")
