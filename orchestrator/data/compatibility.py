"""Compatibility rules: does data (captured, or declared by its producer) fit what a consumer
expects? Pure functions over profiles and schemas; each finding is an ``Issue``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from enum import StrEnum

from ..issues import Issue, RuleInfo, Severity
from .profiles import ColumnProfile, DatasetProfile, OutputProfile
from .schemas import (
    ColumnSpec,
    DataSchema,
    ExtraColumns,
    TypeFamily,
    arrow_bits,
    declared_bits,
    family_of,
)

UNKNOWN_FORMAT = "unknown"
COLUMNS_LISTED = 6
"""Columns a missing-column message names before it says how many more there are."""


class Rule(StrEnum):
    EMPTY_OUTPUT = "empty_output"
    FORMAT_MISMATCH = "format_mismatch"
    LAYOUT_MISMATCH = "layout_mismatch"
    UNREADABLE_DATA = "unreadable_data"
    MISSING_COLUMN = "missing_column"
    TYPE_NOT_CASTABLE = "type_not_castable"
    NUMERIC_WIDENING = "numeric_widening"
    NUMERIC_NARROWING = "numeric_narrowing"
    READ_AS_TEXT = "read_as_text"
    NULLABLE_MISMATCH = "nullable_mismatch"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    VALUE_NOT_ALLOWED = "value_not_allowed"
    EXTRA_COLUMNS = "extra_columns"
    COLUMN_ADDED = "column_added"
    COLUMN_REMOVED = "column_removed"
    TYPE_CHANGED = "type_changed"
    NULLABILITY_CHANGED = "nullability_changed"
    FORMAT_CHANGED = "format_changed"
    LAYOUT_CHANGED = "layout_changed"


E, W = Severity.ERROR, Severity.WARNING
RULES: dict[Rule, RuleInfo] = {
    Rule.EMPTY_OUTPUT: RuleInfo(E, "no files, or fewer rows than the schema's min_rows (1)"),
    Rule.FORMAT_MISMATCH: RuleInfo(E, "e.g. Parquet written where CSV is expected"),
    Rule.LAYOUT_MISMATCH: RuleInfo(E, "an expected subfolder (e.g. train/) is missing"),
    Rule.UNREADABLE_DATA: RuleInfo(E, "files of a tabular format that do not parse"),
    Rule.MISSING_COLUMN: RuleInfo(E, "a required column is absent (renamed?)"),
    Rule.TYPE_NOT_CASTABLE: RuleInfo(E, "e.g. text where a number is expected, float for int"),
    Rule.NUMERIC_WIDENING: RuleInfo(
        W, "integer where float is expected (or bool → number, a declared number → float)"
    ),
    Rule.NUMERIC_NARROWING: RuleInfo(
        W, "int64 where int32 is expected and values may not fit (or a declared number → integer)"
    ),
    Rule.READ_AS_TEXT: RuleInfo(W, "a number or date where a string is expected"),
    Rule.NULLABLE_MISMATCH: RuleInfo(
        E, "nulls in a column declared non-nullable (a warning when nulls are only possible)"
    ),
    Rule.VALUE_OUT_OF_RANGE: RuleInfo(E, "min/max outside the declared range"),
    Rule.VALUE_NOT_ALLOWED: RuleInfo(E, "a value outside the declared allowed values"),
    Rule.EXTRA_COLUMNS: RuleInfo(
        W, "columns the schema does not list: a warning, an error with extra_columns: error"
    ),
    Rule.COLUMN_ADDED: RuleInfo(W, "snapshot drift: a column appeared"),
    Rule.COLUMN_REMOVED: RuleInfo(E, "snapshot drift: a column disappeared"),
    Rule.TYPE_CHANGED: RuleInfo(
        E,
        "snapshot drift: a column's type changed (a warning for int ↔ float or another width "
        "or unit, e.g. int32 → int64; nothing when either side is all-null)",
    ),
    Rule.NULLABILITY_CHANGED: RuleInfo(W, "snapshot drift: nulls where there were none"),
    Rule.FORMAT_CHANGED: RuleInfo(E, "snapshot drift: file format or compression changed"),
    Rule.LAYOUT_CHANGED: RuleInfo(E, "snapshot drift: subfolders added or removed"),
}


def issue(
    rule: Rule,
    description: str,
    hint: str | None = None,
    *,
    severity: Severity | None = None,
    column: str | None = None,
) -> Issue:
    """An issue of ``rule`` with the rule's severity, unless another is given."""
    return Issue(
        rule=rule.value,
        severity=severity or RULES[rule].severity,
        description=description,
        hint=hint,
        column=column,
    )


# Actual data against an expected schema --------------------------------------------------


def check_output(profile: OutputProfile, schema: DataSchema) -> list[Issue]:
    """Every rule applied to what a producer wrote, against what its consumer expects."""
    return _check(profile, schema, declared=False)


def _check(profile: OutputProfile, schema: DataSchema, *, declared: bool) -> list[Issue]:
    """``check_output``; ``declared`` words the issues for a profile made from a schema."""
    if profile.empty:
        return [_empty_output(profile)]
    found: list[Issue] = []
    for folder, dataset in _datasets_to_check(profile, schema, found, declared):
        found.extend(check_dataset(dataset, schema, folder, declared=declared))
    return found


def _empty_output(profile: OutputProfile) -> Issue:
    return issue(
        Rule.EMPTY_OUTPUT,
        f"output '{profile.output}' is empty: the producer wrote no files",
        "make the producer write its data to this output's path",
    )


def _datasets_to_check(
    profile: OutputProfile, schema: DataSchema, found: list[Issue], declared: bool
) -> Iterator[tuple[str, DatasetProfile]]:
    """The dataset of each expected layout folder (all datasets when no layout is declared)."""
    if schema.layout:
        for folder in schema.layout:
            dataset = _pick(profile, folder, schema.format)
            if dataset is None:
                missing = _declared_missing_folder if declared else _missing_folder
                found.append(missing(profile, folder))
            else:
                yield folder, dataset
        return
    if not profile.datasets:
        if schema.format or schema.columns:
            found.append(_no_tabular_data(profile, schema))
        return
    for dataset in profile.datasets:
        yield dataset.path, dataset


def _pick(profile: OutputProfile, folder: str, fmt: str | None) -> DatasetProfile | None:
    candidates = [d for d in profile.datasets if d.path == folder]
    matching = [d for d in candidates if d.format == fmt]
    return next(iter(matching or candidates), None)


def _missing_folder(profile: OutputProfile, folder: str) -> Issue:
    has = ", ".join(f"{f}/" for f in profile.layout) or "files at the output root only"
    return issue(
        Rule.LAYOUT_MISMATCH,
        f"expected subfolder '{folder}/' with data in output '{profile.output}'; it has: {has}",
        f"write this split to '{folder}/' under the output path",
    )


def _declared_missing_folder(profile: OutputProfile, folder: str) -> Issue:
    has = ", ".join(f"{f}/" for f in profile.layout)
    declares = f"subfolders {has}" if has else "no subfolders"
    return issue(
        Rule.LAYOUT_MISMATCH,
        f"the producer declares {declares} where the consumer expects '{folder}/'",
        f"make the producer write '{folder}/' and add it to its layout, or drop it from the "
        "consumer's layout",
    )


def _no_tabular_data(profile: OutputProfile, schema: DataSchema) -> Issue:
    kinds = sorted({a.kind for a in profile.artifacts}) or ["no readable files"]
    expected = schema.format or "tabular"
    return issue(
        Rule.FORMAT_MISMATCH,
        f"expected {expected} data in output '{profile.output}'; found only: {', '.join(kinds)}",
        f"write the data as {expected} files",
    )


def check_dataset(
    dataset: DatasetProfile, schema: DataSchema, folder: str, *, declared: bool = False
) -> list[Issue]:
    """Format, readability, row count and columns of one dataset (of a producer's declared
    schema, with ``declared``: the issues then say what is declared, not what was found)."""
    where = f"{folder}/" if folder else "the output root"
    if schema.format and dataset.format not in (schema.format, UNKNOWN_FORMAT):
        if declared:
            return [_declared_format_mismatch(dataset, schema.format)]
        return [_format_mismatch(dataset, schema.format, where)]
    if dataset.error:
        text = f"data in {where} cannot be read: {dataset.error}"
        hint = f"make the producer write valid {dataset.format} files in {where}"
        return [issue(Rule.UNREADABLE_DATA, text, hint)]
    found: list[Issue] = []
    if dataset.rows is not None and dataset.rows < schema.min_rows:
        found.append(
            issue(
                Rule.EMPTY_OUTPUT,
                f"{dataset.rows} rows in {where}; at least {schema.min_rows} expected",
                "check the producer's filters and splits",
            )
        )
    for spec in schema.columns:
        found.extend(check_column(dataset, spec, where, declared=declared))
    found.extend(_extra_columns(dataset, schema, where, declared))
    return found


def _format_mismatch(dataset: DatasetProfile, expected: str, where: str) -> Issue:
    example = dataset.files[0] if dataset.files else where
    return issue(
        Rule.FORMAT_MISMATCH,
        f"{dataset.format} written in {where} ({example}) where {expected} is expected",
        f"write {expected}, or declare format: {dataset.format} in the consumer's schema",
    )


def _declared_format_mismatch(dataset: DatasetProfile, expected: str) -> Issue:
    return issue(
        Rule.FORMAT_MISMATCH,
        f"the producer declares {dataset.format} where the consumer expects {expected}",
        f"make the producer write {expected} and declare it so, or declare format: "
        f"{dataset.format} in the consumer's schema",
    )


def check_column(
    dataset: DatasetProfile, spec: ColumnSpec, where: str, *, declared: bool = False
) -> list[Issue]:
    actual = dataset.column(spec.name)
    if actual is None:
        return [_missing_column(dataset, spec, where, declared)] if spec.required else []
    found = [
        f
        for f in (
            _type_issue(actual, spec, where, declared),
            _null_issue(actual, spec, where, declared),
        )
        if f
    ]
    found.extend(_range_issues(actual, spec, where))
    found.extend(_allowed_issues(actual, spec, where))
    return [f.located(column=spec.name) for f in found]


def _missing_column(dataset: DatasetProfile, spec: ColumnSpec, where: str, declared: bool) -> Issue:
    names = [c.name for c in dataset.columns]
    close = difflib.get_close_matches(spec.name, names, n=1, cutoff=0.5)
    shown = ", ".join(names[:COLUMNS_LISTED]) or "none"
    if len(names) > COLUMNS_LISTED:
        shown += f", +{len(names) - COLUMNS_LISTED} more"
    if declared:
        text = (
            f"the consumer requires column '{spec.name}'; the producer does not declare it "
            f"(it declares: {shown})"
        )
        renamed = f"name it '{spec.name}' in the producer and its schema"
        added = f"add column '{spec.name}' to the producer and its schema"
    else:
        text = f"required column '{spec.name}' is missing in {where} (columns: {shown})"
        renamed, added = f"write it as '{spec.name}'", f"add column '{spec.name}' in the producer"
    hint = (
        f"was '{spec.name}' renamed to '{close[0]}'? {renamed}"
        if close
        else f"{added}, or mark it required: false"
    )
    return issue(Rule.MISSING_COLUMN, text, hint, column=spec.name)


def _type_issue(
    actual: ColumnProfile, spec: ColumnSpec, where: str, declared: bool
) -> Issue | None:
    rule = type_rule(actual, spec)
    if rule is None:
        return None
    if declared:
        return _declared_type_issue(rule, actual, spec)
    text = f"column '{spec.name}' in {where} is {actual.type}; {spec.type} is expected"
    hints = {
        Rule.TYPE_NOT_CASTABLE: f"write '{spec.name}' as {spec.type}, or fix the schema's type",
        Rule.NUMERIC_WIDENING: f"write '{spec.name}' as {spec.type}, or declare it {actual.type}",
        Rule.NUMERIC_NARROWING: "values may not fit; declare the wider type if they can",
        Rule.READ_AS_TEXT: f"write '{spec.name}' as text, or declare it {actual.type}",
    }
    return issue(rule, text, hints[rule])


def _declared_type_issue(rule: Rule, actual: ColumnProfile, spec: ColumnSpec) -> Issue:
    text = (
        f"the producer declares column '{spec.name}' as {actual.type} where the consumer "
        f"expects {spec.type}"
    )
    either = (
        f"make the producer write '{spec.name}' as {spec.type} and declare it so, or expect "
        f"{actual.type} in the consumer's schema"
    )
    if rule is Rule.NUMERIC_NARROWING:
        either = (
            f"values may not fit in {spec.type}: declare {spec.type} in the producer's schema "
            f"if they do, or expect {actual.type} in the consumer's"
        )
    return issue(rule, text, either)


NUMERIC_FAMILIES = frozenset({TypeFamily.INTEGER, TypeFamily.FLOAT, TypeFamily.NUMBER})
"""Types a schema's ``number`` accepts: integers, floats, and ``number`` itself (a producer's
declared schema says ``number`` as the consumer's does)."""


def fits_any(family: TypeFamily) -> bool:
    """A type that says nothing about the values, so fits any other: an all-null column's
    (arrow type ``null``) or a schema's ``any``."""
    return family in (TypeFamily.NULL, TypeFamily.ANY)


def type_rule(actual: ColumnProfile, spec: ColumnSpec) -> Rule | None:
    """The rule a column's type breaks, if any: castable, widened, narrowed or neither."""
    have, want = family_of(actual.type), spec.family
    if fits_any(want) or fits_any(have):
        return None
    if want is TypeFamily.NUMBER:
        if have is TypeFamily.BOOLEAN:
            return Rule.NUMERIC_WIDENING
        return None if have in NUMERIC_FAMILIES else Rule.TYPE_NOT_CASTABLE
    if have is want:
        return _width_rule(actual, spec)
    if want is TypeFamily.STRING:
        return Rule.READ_AS_TEXT
    if (have, want) in _WIDENINGS:
        return Rule.NUMERIC_WIDENING
    if (have, want) == (TypeFamily.NUMBER, TypeFamily.INTEGER):
        return Rule.NUMERIC_NARROWING  # a declared number may hold values that are no integers
    return Rule.TYPE_NOT_CASTABLE


_WIDENINGS = {
    (TypeFamily.INTEGER, TypeFamily.FLOAT),
    (TypeFamily.NUMBER, TypeFamily.FLOAT),  # a declared number may hold integers
    (TypeFamily.BOOLEAN, TypeFamily.INTEGER),
    (TypeFamily.BOOLEAN, TypeFamily.FLOAT),
    (TypeFamily.DATE, TypeFamily.TIMESTAMP),
}


def _width_rule(actual: ColumnProfile, spec: ColumnSpec) -> Rule | None:
    """A wider numeric type than declared only matters when the values may not fit."""
    bits = declared_bits(spec.type)
    if bits is None or arrow_bits(actual.type) <= bits:
        return None
    if spec.family is TypeFamily.INTEGER and _fits(actual, bits, spec.type.startswith("u")):
        return None
    return Rule.NUMERIC_NARROWING


def _fits(actual: ColumnProfile, bits: int, unsigned: bool) -> bool:
    low, high = actual.min, actual.max
    if not isinstance(low, int) or not isinstance(high, int):
        return False
    if unsigned:
        return bool(low >= 0 and high < 1 << bits)
    limit: int = 1 << (bits - 1)
    return bool(-limit <= low and high < limit)


def _null_issue(
    actual: ColumnProfile, spec: ColumnSpec, where: str, declared: bool
) -> Issue | None:
    if spec.nullable:
        return None
    if actual.null_count:
        return issue(
            Rule.NULLABLE_MISMATCH,
            f"column '{spec.name}' in {where} has {actual.null_count} nulls; "
            "it is declared non-nullable",
            "fill or drop the nulls in the producer, or declare nullable: true",
        )
    if actual.null_count is None and actual.nullable and declared:
        return issue(
            Rule.NULLABLE_MISMATCH,
            f"the producer declares column '{spec.name}' nullable where the consumer expects "
            "no nulls",
            f"declare '{spec.name}' nullable: false in the producer's schema if it writes no "
            "nulls, or nullable: true in the consumer's",
            severity=Severity.WARNING,
        )
    if actual.null_count is None and actual.nullable:
        return issue(
            Rule.NULLABLE_MISMATCH,
            f"column '{spec.name}' in {where} may hold nulls; it is declared non-nullable",
            "declare the producer's column non-nullable, or nullable: true here",
            severity=Severity.WARNING,
        )
    return None


def _range_issues(actual: ColumnProfile, spec: ColumnSpec, where: str) -> list[Issue]:
    found = []
    low, high = _number(actual.min), _number(actual.max)
    if spec.min is not None and low is not None and low < spec.min:
        found.append(_out_of_range(spec, where, f"minimum {actual.min} < {spec.min:g}"))
    if spec.max is not None and high is not None and high > spec.max:
        found.append(_out_of_range(spec, where, f"maximum {actual.max} > {spec.max:g}"))
    return found


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _out_of_range(spec: ColumnSpec, where: str, detail: str) -> Issue:
    return issue(
        Rule.VALUE_OUT_OF_RANGE,
        f"column '{spec.name}' in {where} is out of its declared range: {detail}",
        "check the producer's transformation, or widen the schema's min/max",
    )


def _allowed_issues(actual: ColumnProfile, spec: ColumnSpec, where: str) -> list[Issue]:
    if spec.allowed is None:
        return []
    allowed = {str(v) for v in spec.allowed}
    seen = _seen_values(actual)
    if seen is None:
        return []
    as_numbers = {str(int(v)) for v in spec.allowed if isinstance(v, bool)}
    unexpected = sorted(seen - allowed - as_numbers)
    if not unexpected:
        return []
    return [
        issue(
            Rule.VALUE_NOT_ALLOWED,
            f"column '{spec.name}' in {where} holds {', '.join(unexpected[:8])}; "
            f"allowed: {', '.join(sorted(allowed))}",
            "map these values in the producer, or add them to 'allowed'",
        )
    ]


def _seen_values(actual: ColumnProfile) -> set[str] | None:
    """Values known to occur: all distinct strings, or the ends of a numeric column."""
    if actual.distinct is not None:
        return set(actual.distinct)
    ends = [v for v in (actual.min, actual.max) if v is not None]
    if family_of(actual.type) in (TypeFamily.INTEGER, TypeFamily.BOOLEAN) and ends:
        return {str(int(v)) if not isinstance(v, str) else v for v in ends}
    return None


def _extra_columns(
    dataset: DatasetProfile, schema: DataSchema, where: str, declared: bool
) -> list[Issue]:
    if not schema.columns or schema.extra_columns is ExtraColumns.ALLOW:
        return []
    listed = {c.name for c in schema.columns}
    extra = [c.name for c in dataset.columns if c.name not in listed]
    if not extra:
        return []
    severity = Severity.ERROR if schema.extra_columns is ExtraColumns.ERROR else Severity.WARNING
    names = ", ".join(extra[:12])
    if declared:
        text = f"the producer declares {len(extra)} column(s) the consumer's schema lacks: {names}"
        hint = "list them in the consumer's schema, or set extra_columns: allow there"
    else:
        text = f"{len(extra)} column(s) in {where} not in the schema: {names}"
        hint = "list them in the schema, or set extra_columns: allow"
    return [issue(Rule.EXTRA_COLUMNS, text, hint, severity=severity)]


# A producer's declared schema against its consumer's ---------------------------------------


def check_declared(producer: DataSchema, consumer: DataSchema) -> list[Issue]:
    """Static check: what the producer promises against what the consumer expects. Every
    folder of a declared layout holds the same declared data, so each finding is kept once."""
    found = _check(declared_profile(producer, consumer), consumer, declared=True)
    seen: set[tuple[str, str, str | None]] = set()
    unique = []
    for finding in found:
        key = (finding.rule, finding.description, finding.column)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def declared_profile(schema: DataSchema, consumer: DataSchema) -> OutputProfile:
    """A profile of data that matches ``schema`` exactly, with no statistics known."""
    folders = schema.layout or [""]
    if schema.layout is None and consumer.layout:
        folders = list(consumer.layout)  # the producer is silent on layout: assume it fits
    columns = [
        ColumnProfile(name=c.name, type=c.type, nullable=c.nullable, null_count=None)
        for c in schema.columns
    ]
    datasets = [
        DatasetProfile(path=f, format=schema.format or UNKNOWN_FORMAT, columns=columns, rows=None)
        for f in folders
    ]
    if not schema.columns and schema.extra_columns is not ExtraColumns.ERROR:
        datasets = [d.model_copy(update={"columns": _unknown(consumer)}) for d in datasets]
    return OutputProfile(
        output="declared",
        folder="",
        files=1,
        layout=sorted(f for f in folders if f),
        datasets=datasets,
    )


def _unknown(consumer: DataSchema) -> list[ColumnProfile]:
    """A producer that declares no columns: assume the consumer's, so only format and layout
    are compared."""
    return [
        ColumnProfile(name=c.name, type=c.type, nullable=c.nullable, null_count=0)
        for c in consumer.columns
    ]


NO_EXPECTATIONS = DataSchema()
"""What every edge is held to without a schema: some data, readable if tabular."""


def schema_issues(
    captured: OutputProfile,
    expected: DataSchema | None,
    promised: DataSchema | None,
    *,
    consumer: str,
    producer: str | None,
) -> list[Issue]:
    """What is wrong with data that flowed to ``consumer``: against the schema the consumer
    expects (or only the rules that need none), and against what its producer promised."""
    found = [
        i.located(step=consumer, file=_source(expected))
        for i in check_output(captured, expected or NO_EXPECTATIONS)
    ]
    if promised is not None:
        found.extend(_broken_promises(producer, captured, promised, found))
    return found


def _broken_promises(
    producer: str | None, captured: OutputProfile, promised: DataSchema, seen: list[Issue]
) -> list[Issue]:
    """The producer's own contract, checked on what it wrote; repeats are left out."""
    known = {(i.rule, i.column) for i in seen}
    return [
        i.model_copy(update={"description": f"against its own contract: {i.description}"}).located(
            step=producer, file=_source(promised)
        )
        for i in check_output(captured, promised)
        if (i.rule, i.column) not in known
    ]


def _source(schema: DataSchema | None) -> str | None:
    return schema.source if schema is not None else None
