"""Read a catalog file (YAML or JSON) into a validated `CatalogDocument`.

YAML floats are read as exact decimals from their text, so operators may write `0.0781`
without quotes and get exactly 0.0781.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import CATALOG_FILE_MAX_BYTES
from .model import CatalogDocument

DEFAULT_CATALOG_PATH = Path(__file__).parent / "data" / "default.yaml"


class _DecimalLoader(yaml.SafeLoader):
    pass


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    return Decimal(loader.construct_scalar(node).replace("_", ""))


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's messages span lines with a caret drawing; keep the problem and where it is."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return " ".join(str(exc).split())


def parse_text(text: str, *, source: str = "<text>") -> CatalogDocument:
    if len(text.encode()) > CATALOG_FILE_MAX_BYTES:
        raise CloudbillError(ErrorCode.CATALOG_INVALID, f"{source}: catalog file is too large")
    try:
        raw = yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        raise CloudbillError(
            ErrorCode.CATALOG_INVALID, f"{source}: not valid YAML: {_one_line(exc)}"
        ) from None
    return parse_data(raw, source=source)


def parse_data(raw: Any, *, source: str = "<data>") -> CatalogDocument:
    if not isinstance(raw, dict):
        raise CloudbillError(ErrorCode.CATALOG_INVALID, f"{source}: a catalog is a mapping")
    try:
        document = CatalogDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CloudbillError(
            ErrorCode.CATALOG_INVALID,
            f"{source}: {where}: {first['msg']} ({exc.error_count()} problem(s) in all)",
        ) from None
    from .index import CatalogIndex  # cross-reference checks live with the index

    CatalogIndex(document)
    return document


def read_file(path: str | Path) -> CatalogDocument:
    path = Path(path)
    try:
        if path.stat().st_size > CATALOG_FILE_MAX_BYTES:
            raise CloudbillError(ErrorCode.CATALOG_INVALID, f"{path}: catalog file is too large")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CloudbillError(ErrorCode.CATALOG_INVALID, f"cannot read {path}: {exc}") from None
    return parse_text(text, source=str(path))


def canonical_json(document: CatalogDocument) -> str:
    return json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def checksum(document: CatalogDocument) -> str:
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()
