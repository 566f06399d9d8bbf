"""Tables: CSV/TSV (delimiter, header and encoding sniffed) and Parquet read with pyarrow, column types inferred.

Encodings: UTF-8 (a BOM is skipped), else Latin-1, which the description names. A file
that is neither (NUL bytes, or C1 control characters once read as Latin-1) is refused
with the line and column of the first bad byte. A ragged line is refused with its line
number and its field count. Column types: ``numeric``, ``boolean``, ``date`` (used as
days since 1970, a number), ``categorical`` (few distinct strings) and ``text`` (many
distinct strings, tokenized when used as a feature).
"""

from __future__ import annotations

import codecs
import csv
import mmap
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from .errors import UploadError

SNIFF_BYTES = 64 * 1024
CATEGORICAL_MAX = 50
"""A string column with at most this many distinct values (and fewer than half the rows) is categorical."""
TEXT_WORDS = 3
"""A string column whose distinct values average this many words or more is text, however few they are."""
PREVIEW_ROWS = 20
ColumnType = str  # numeric | boolean | date | categorical | text


@dataclass
class TableFile:
    table: pa.Table
    format: str  # csv | tsv | parquet
    encoding: str | None = None
    delimiter: str | None = None
    header: bool = True


def _plain_ascii(path: Path) -> bool:
    """Whether the file is ASCII without NUL bytes (most CSV files), checked where it lies: memory-mapped, not
    read into Python in pieces (that copy took more time than the checks)."""
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return True
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            if mapped.find(b"\x00") >= 0:
                return False
            data = np.frombuffer(mapped, np.uint8)
            try:
                return bool(data.max() < 0x80)
            finally:
                del data  # the mapping closes only once no array uses it


def _encoding(path: Path, name: str) -> str:
    """utf-8 when every byte decodes as UTF-8, else latin-1 if that reads as text; refuses binary files."""
    if _plain_ascii(path):
        return "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if b"\x00" in chunk:
                at = offset + chunk.index(b"\x00")
                raise UploadError(f"{name}: byte {at} is a NUL byte: this is not a text file (CSV or TSV)")
            if chunk.isascii() and not decoder.getstate()[0]:  # plain ASCII is UTF-8: nothing to decode
                offset += len(chunk)
                continue
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                break
            offset += len(chunk)
        else:
            try:
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            bad = re.search(rb"[\x80-\x9f]", raw)
            if bad is not None:
                raise UploadError(f"{name}: line {number}, column {bad.start() + 1}: byte 0x{raw[bad.start()]:02x} "
                                  "is neither UTF-8 nor Latin-1 text; save the file as UTF-8")
    return "latin-1"


def _sniff(sample: str, name: str, suffix: str) -> tuple[str, bool]:
    if not sample.strip():
        raise UploadError(f"{name}: the file is empty")
    default = "\t" if suffix == ".tsv" else ","
    lines = sample.splitlines()
    cut = "\n".join(lines[:-1] if len(lines) > 1 and not sample.endswith("\n") else lines)
    try:
        dialect = csv.Sniffer().sniff(cut, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = default
    try:
        header = csv.Sniffer().has_header(cut)
    except csv.Error:
        header = True
    first = next(csv.reader([lines[0]], delimiter=delimiter), [])
    if not header and all(re.fullmatch(r"\s*-?[\d.eE+-]+\s*", c) is None for c in first):
        header = True  # a row of words only is a header even when the sniffer is unsure
    return delimiter, header


def _locate_ragged(path: Path, encoding: str, delimiter: str, name: str) -> UploadError:
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        width = None
        try:
            for row in reader:
                if width is None:
                    width = len(row)
                elif row and len(row) != width:
                    return UploadError(f"{name}: line {reader.line_num}: {len(row)} fields where the header has "
                                       f"{width}")
        except csv.Error as e:
            return UploadError(f"{name}: line {reader.line_num}: {e}")
    return UploadError(f"{name}: the file could not be read as a table")


def table_pool() -> pa.MemoryPool:
    """Where a parsed table's buffers are allocated: jemalloc (else the system allocator), not pyarrow's default
    mimalloc, which takes transparent huge pages and touches more memory with them: on a 2-core VM a 150 MB CSV
    cost 0.06-1.5 s of system time to parse that way, 0.25-0.7 s with jemalloc (no compaction stalls seen: the
    time goes to faulting the pages in)."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc
        return pa.system_memory_pool()


def read_csv(path: Path, name: str) -> TableFile:
    encoding = _encoding(path, name)
    with path.open(encoding=encoding, newline="") as f:
        sample = f.read(SNIFF_BYTES)
    sample = sample.lstrip("\ufeff")
    delimiter, header = _sniff(sample, name, Path(name).suffix.lower())
    read = pcsv.ReadOptions(encoding=encoding, autogenerate_column_names=not header, block_size=1 << 22)
    # Without quoted newlines pyarrow splits the file into blocks parsed on every core; a file whose quoted
    # fields hold line breaks fails that way ("Expected N columns") and is read again with them allowed.
    newlines = False
    column_types: dict[str, pa.DataType] = {}
    table: pa.Table | None = None
    while table is None:
        parse = pcsv.ParseOptions(delimiter=delimiter, quote_char='"', newlines_in_values=newlines)
        convert = pcsv.ConvertOptions(strings_can_be_null=True, column_types=column_types,
                                      true_values=["true", "True", "TRUE"], false_values=["false", "False", "FALSE"])
        try:
            with pa.memory_map(str(path)) as source:  # blocks parsed where they lie, not read into buffers first
                table = pcsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert,
                                      memory_pool=table_pool())
        except pa.ArrowInvalid as e:
            message = str(e)
            column = re.search(r"In CSV column #(\d+)", message)
            if column is not None and "conversion error" in message:
                names = _header(path, encoding, delimiter, header)
                index = int(column.group(1))
                if index < len(names) and names[index] not in column_types:
                    column_types[names[index]] = pa.string()  # a later block holds a value of another type
                    continue
            if "Expected" in message and "columns" in message and not newlines:
                newlines = True
                continue
            if "Expected" in message and "columns" in message:
                raise _locate_ragged(path, encoding, delimiter, name) from None
            if "Empty CSV file" in message:
                raise UploadError(f"{name}: the file is empty") from None
            raise UploadError(f"{name}: {message.splitlines()[0]}") from None
    if table.num_rows == 0:
        raise UploadError(f"{name}: the file has a header but no rows")
    names = [str(n).strip() or f"column_{i + 1}" for i, n in enumerate(table.column_names)]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UploadError(f"{name}: line 1: the column name '{dup}' appears twice")
    table = table.rename_columns(names)
    return TableFile(table, "tsv" if delimiter == "\t" else "csv", encoding, delimiter, header)


TABLE_CACHE = "table.arrow"
"""The parsed table of an upload, kept beside the original so a run reads it instead of parsing text again."""


def write_table_cache(table: pa.Table, directory: Path) -> None:
    """Written under a temporary name, then renamed: a reader finds the whole file or none."""
    partial = directory / f".{TABLE_CACHE}.{uuid.uuid4().hex[:8]}"
    try:
        with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        partial.replace(directory / TABLE_CACHE)
    finally:
        partial.unlink(missing_ok=True)  # left only by a failed write


def read_table_cache(directory: Path) -> pa.Table | None:
    """The cached table (memory-mapped: only the columns used are read), or None for uploads made before it."""
    path = directory / TABLE_CACHE
    if not path.is_file():
        return None
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _header(path: Path, encoding: str, delimiter: str, header: bool) -> list[str]:
    with path.open(encoding=encoding, newline="") as f:
        first = next(csv.reader(f, delimiter=delimiter), [])
    first = [c.lstrip("\ufeff") for c in first]
    return first if header else [f"f{i}" for i in range(len(first))]


def read_parquet(path: Path, name: str) -> TableFile:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise UploadError(f"{name}: not a readable Parquet file: {str(e).splitlines()[0]}") from None
    if table.num_rows == 0:
        raise UploadError(f"{name}: the file has no rows")
    return TableFile(table, "parquet")


def read_table(path: Path, name: str) -> TableFile:
    return read_parquet(path, name) if name.lower().endswith(".parquet") else read_csv(path, name)


# ---- column types ------------------------------------------------------------------------------------------------


def column_type(col: pa.ChunkedArray, rows: int, distinct: pa.Array | None = None) -> ColumnType:
    """The column's kind; ``distinct`` (its distinct non-null values) saves a pass when the caller has them."""
    t = col.type
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_temporal(t):
        return "date"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        if distinct is None:
            distinct = pc.unique(col).drop_null()
        if pa.types.is_dictionary(distinct.type):  # Parquet's dictionary-encoded strings: their words
            distinct = pc.cast(distinct.dictionary_decode(), pa.string())
        words = pc.mean(pc.list_value_length(pc.utf8_split_whitespace(distinct))).as_py() if len(distinct) else 0
        few = len(distinct) <= CATEGORICAL_MAX and len(distinct) <= max(2, rows // 2)
        return "categorical" if few and (words or 0) < TEXT_WORDS else "text"
    return "text"


def to_numpy(col: pa.ChunkedArray | pa.Array, dtype: type[np.generic], missing: Any = None) -> np.ndarray:
    """A column of numbers or booleans as a numpy array of ``dtype`` (``np.bool_`` or a number type), copied
    once from its Arrow buffers, with ``missing`` where a value is null (refused when None).

    pyarrow's own ``to_numpy`` (and any Python value handed to pyarrow, even a fill value) goes through its
    pandas conversion, which imports pandas the first time: a second or more that an upload has no use for.
    """
    raw = np.dtype(np.uint8 if dtype is np.bool_ else dtype)  # booleans: Arrow packs them in bits; bytes here
    target = pa.from_numpy_dtype(raw)
    out = np.empty(len(col), raw)
    at = 0
    for chunk in col.chunks if isinstance(col, pa.ChunkedArray) else [col]:
        n = len(chunk)
        if chunk.type != target:
            chunk = pc.cast(chunk, target)
        part = out[at:at + n]
        part[:] = np.frombuffer(chunk.buffers()[1], raw, count=n, offset=chunk.offset * raw.itemsize)
        if chunk.null_count:
            if missing is None:
                raise ValueError("to_numpy: the column has missing values and no value to put in their place")
            bits = np.frombuffer(chunk.buffers()[0], np.uint8)
            valid = np.unpackbits(bits, count=chunk.offset + n, bitorder="little")[chunk.offset:].view(np.bool_)
            part[~valid] = missing
        at += n
    return out.view(np.bool_) if dtype is np.bool_ else out


def float_chunks(col: pa.ChunkedArray) -> list[np.ndarray] | None:
    """The chunks of a float64 column without nulls as numpy views of its Arrow buffers (nothing copied)."""
    if col.type != pa.float64() or col.null_count:
        return None
    return [np.frombuffer(c.buffers()[1], np.float64, count=len(c), offset=c.offset * 8) for c in col.chunks if len(c)]


def numeric_values(col: pa.ChunkedArray, kind: ColumnType) -> np.ndarray:
    """float64 values with NaN for missing: numbers, booleans as 0/1, dates as days since 1970-01-01."""
    if kind == "date":
        seconds = pc.cast(pc.cast(col, pa.timestamp("s")), pa.int64())
        return to_numpy(seconds, np.float64, missing=np.nan) / 86400.0
    return to_numpy(col, np.float64, missing=np.nan)


def label(value: Any) -> str:
    """A category as text: booleans as true/false, whole floats without their .0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def string_values(col: pa.ChunkedArray) -> list[str | None]:
    """Every value as its label (None where missing): each distinct value is labelled once."""
    encoded = pc.dictionary_encode(col).combine_chunks()
    labels = np.array([label(v) for v in encoded.dictionary.to_pylist()] + [None], dtype=object)
    codes = to_numpy(encoded.indices, np.intp, missing=len(labels) - 1)  # missing: the trailing None
    return labels[codes].tolist()  # type: ignore[no-any-return]


def describe_columns(table: pa.Table) -> list[dict[str, Any]]:
    """Per column: name, dtype, missing, distinct and (numeric) min/max/mean or (categorical) class counts."""
    out = []
    rows = table.num_rows
    for name in table.column_names:
        col = table.column(name)
        counts: pa.StructArray | None = None  # distinct values and their counts, when they could be classes
        if _countable(col.type) and _distinct(col) <= CATEGORICAL_MAX:
            every = pc.value_counts(col)
            counts = every.filter(pc.is_valid(every.field("values")))
        kind = column_type(col, rows, None if counts is None else counts.field("values"))
        entry: dict[str, Any] = {"name": name, "dtype": kind, "missing": int(col.null_count)}
        if kind in ("numeric", "date", "boolean"):
            entry.update(_number_summary(col, kind))
        if kind in ("categorical", "boolean") or (kind == "numeric" and pa.types.is_integer(col.type)):
            if counts is None:
                entry["distinct"] = _distinct(col)
            else:
                pairs = sorted(((label(v["values"]), int(v["counts"])) for v in counts.to_pylist()),
                               key=lambda p: p[0])
                entry["distinct"] = len(pairs)
                entry["classes"] = dict(pairs)
        elif kind == "text":
            entry["distinct"] = _distinct(col)
        out.append(entry)
    return out


def _number_summary(col: pa.ChunkedArray, kind: ColumnType) -> dict[str, Any]:
    """min, max and mean of the finite values, and ``missing``: nulls, NaN and infinities."""
    parts = float_chunks(col)
    if parts:  # read in place, chunk by chunk
        low, high = min(p.min() for p in parts), max(p.max() for p in parts)
        if np.isfinite(low) and np.isfinite(high):
            mean = sum(float(p.sum()) for p in parts) / len(col)
            return {"min": float(low), "max": float(high), "mean": mean, "missing": 0}
    values = numeric_values(col, kind)
    low, high = (values.min(), values.max()) if values.size else (np.nan, np.nan)
    if np.isfinite(low) and np.isfinite(high):  # the usual case (a NaN would be the min and the max): no mask
        return {"min": float(low), "max": float(high), "mean": float(values.mean()), "missing": 0}
    finite = values[np.isfinite(values)]
    summary: dict[str, Any] = {"missing": int(values.size - finite.size)}
    if finite.size:
        summary.update(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()))
    return summary


def _countable(t: pa.DataType) -> bool:
    """Whether a column of this type can be classes (booleans, integers, strings)."""
    return (pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_dictionary(t))


def _distinct(col: pa.ChunkedArray) -> int:
    """How many distinct values (missing ones aside) the column has."""
    if pa.types.is_null(col.type):
        return 0
    if pa.types.is_dictionary(col.type):
        col = pc.cast(col, col.type.value_type)
    return int(pc.count_distinct(col, mode="only_valid").as_py())


def preview_rows(table: pa.Table, count: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
    rows = table.slice(0, count).to_pylist()
    return [{k: (v if isinstance(v, int | float | bool | str) or v is None else str(v)) for k, v in r.items()}
            for r in rows]
