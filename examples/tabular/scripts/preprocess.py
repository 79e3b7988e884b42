"""Processing step: clean the raw CSV shards and split them into train/val/test.

Reads every ``*.csv`` shard under ``/opt/ml/processing/input/raw`` and writes
``train.csv``, ``val.csv`` and ``test.csv`` (label first, then id, then the
numeric features, with a header) under ``/opt/ml/processing/output/<split>/``.

Cleaning:
- rows without a (valid 0/1) label are dropped;
- duplicated ids are dropped, keeping the first occurrence;
- impossible numeric values (negative income, age outside 18..100, ...) and
  unparseable ones become missing;
- missing numerics are imputed with the median of the *train* split;
- ``region`` and ``device`` are trimmed, lower-cased and one-hot encoded over a
  fixed vocabulary, anything else counting as ``other``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

INPUT_DIR = Path("/opt/ml/processing/input/raw")
OUTPUT_DIR = Path("/opt/ml/processing/output")
MESSAGE_FILE = Path("/opt/ml/output/message")

ID_COLUMN = "id"
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "age": (18, 100),
    "income": (0, 10_000_000),
    "account_tenure_months": (0, 600),
    "num_transactions": (0, 100_000),
}
CATEGORIES: dict[str, list[str]] = {
    "region": ["north", "south", "east", "west"],
    "device": ["mobile", "desktop", "tablet"],
}
OTHER = "other"

logger = logging.getLogger("preprocess")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Clean raw shards and split them.", allow_abbrev=False
    )
    parser.add_argument("--val-ratio", type=float, default=0.15)
    parser.add_argument("--test-ratio", type=float, default=0.15)
    parser.add_argument("--random-seed", type=int, default=42)
    args = parser.parse_args(argv)
    if not (0 < args.val_ratio < 1 and 0 < args.test_ratio < 1):
        parser.error("--val-ratio and --test-ratio must be between 0 and 1")
    if args.val_ratio + args.test_ratio >= 1:
        parser.error("--val-ratio + --test-ratio must be below 1")
    return args


def read_shards(input_dir: Path) -> pd.DataFrame:
    shards = sorted(input_dir.rglob("*.csv"))
    if not shards:
        raise FileNotFoundError(f"no *.csv shard found under {input_dir}")
    frames = []
    for shard in shards:
        frame = pd.read_csv(shard, dtype=str, keep_default_na=False)
        logger.info("read %d rows from %s", len(frame), shard)
        frames.append(frame)
    raw = pd.concat(frames, ignore_index=True)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    return raw


def check_columns(raw: pd.DataFrame, label_column: str) -> None:
    expected = {ID_COLUMN, label_column, *NUMERIC_RANGES, *CATEGORIES}
    missing = sorted(expected - set(raw.columns))
    if missing:
        raise ValueError(f"raw data lacks columns {missing}; it has {list(raw.columns)}")


def clean(raw: pd.DataFrame, label_column: str) -> pd.DataFrame:
    """Fix types and dirty values; drop unlabelled rows and duplicate ids."""
    df = raw.copy()

    label = pd.to_numeric(df[label_column].str.strip(), errors="coerce")
    keep = label.isin([0, 1])
    logger.info("dropping %d rows without a valid label", int((~keep).sum()))
    df = df.loc[keep].copy()
    df[label_column] = label[keep].astype(int)

    df[ID_COLUMN] = pd.to_numeric(df[ID_COLUMN].str.strip(), errors="coerce")
    no_id = df[ID_COLUMN].isna()
    if no_id.any():
        logger.info("dropping %d rows without an id", int(no_id.sum()))
        df = df.loc[~no_id]
    df[ID_COLUMN] = df[ID_COLUMN].astype("int64")
    duplicated = df[ID_COLUMN].duplicated(keep="first")
    logger.info("dropping %d rows with a duplicated id", int(duplicated.sum()))
    df = df.loc[~duplicated]

    for column, (low, high) in NUMERIC_RANGES.items():
        values = pd.to_numeric(df[column].str.strip(), errors="coerce")
        out_of_range = values.notna() & ~values.between(low, high)
        if out_of_range.any():
            count = int(out_of_range.sum())
            logger.info("%s: %d out-of-range values set to missing", column, count)
        df[column] = values.mask(out_of_range).astype(float)

    for column, vocabulary in CATEGORIES.items():
        normalised = df[column].fillna("").str.strip().str.lower()
        df[column] = normalised.where(normalised.isin(vocabulary), OTHER)

    return df.reset_index(drop=True)


def split(
    df: pd.DataFrame, label_column: str, val_ratio: float, test_ratio: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified, deterministic split (rows are sorted by id first)."""
    df = df.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    train_val, test = train_test_split(
        df, test_size=test_ratio, random_state=seed, stratify=df[label_column]
    )
    val_share = val_ratio / (1.0 - test_ratio)
    train, val = train_test_split(
        train_val, test_size=val_share, random_state=seed, stratify=train_val[label_column]
    )
    return train, val, test


def transform(df: pd.DataFrame, medians: pd.Series, label_column: str) -> pd.DataFrame:
    """Impute numerics, one-hot the categoricals, put the label first."""
    out = pd.DataFrame({label_column: df[label_column], ID_COLUMN: df[ID_COLUMN]})
    for column in NUMERIC_RANGES:
        out[column] = df[column].fillna(medians[column])
    for column, vocabulary in CATEGORIES.items():
        for value in [*vocabulary, OTHER]:
            out[f"{column}_{value}"] = (df[column] == value).astype(int)
    return out.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)


def write_split(frame: pd.DataFrame, name: str) -> Path:
    target_dir = OUTPUT_DIR / name
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{name}.csv"
    frame.to_csv(path, index=False)
    positives = frame.iloc[:, 0].mean() if len(frame) else float("nan")
    logger.info("wrote %d rows (positive rate %.3f) to %s", len(frame), positives, path)
    return path


def write_exit_message(message: str) -> None:
    """Best effort: SageMaker shows /opt/ml/output/message as the exit message."""
    try:
        MESSAGE_FILE.parent.mkdir(parents=True, exist_ok=True)
        MESSAGE_FILE.write_text(message[:1024], encoding="utf-8")
    except OSError:
        pass


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
    args = parse_args()
    label_column = os.environ.get("LABEL_COLUMN", "label").strip().lower() or "label"
    logger.info("label column: %s, arguments: %s", label_column, vars(args))

    try:
        raw = read_shards(INPUT_DIR)
        check_columns(raw, label_column)
        df = clean(raw, label_column)
        train, val, test = split(
            df, label_column, args.val_ratio, args.test_ratio, args.random_seed
        )
        medians = train[list(NUMERIC_RANGES)].median()
        logger.info("train medians: %s", medians.round(3).to_dict())
        for name, part in (("train", train), ("val", val), ("test", test)):
            write_split(transform(part, medians, label_column), name)
    except (OSError, ValueError) as error:
        logger.error("preprocessing failed: %s", error)
        write_exit_message(f"preprocessing failed: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
