"""What ``newsdesk submit`` sends: files, folders, glob patterns or standard input, each read as
plain text or HTML (by its extension, else by its first bytes) and decoded to text."""

from __future__ import annotations

import codecs
import glob
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from contracts.documents import ContentType

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
STDIN = "-"
# How far into a document its type and declared charset are looked for.
SNIFF_BYTES = 4096
_HTML_TAG = re.compile(
    rb"<(!doctype\s+html|html|head|body|meta|title|article|main|div|p|h1|h2|br)\b", re.IGNORECASE
)
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UnreadableInput(Exception):
    """A path that names nothing to submit, or a file that is not text."""


@dataclass(frozen=True)
class SourceDocument:
    """One document to submit: where it came from, its text and its type."""

    source: str
    content: str
    content_type: ContentType


def collect_documents(
    paths: Sequence[str], *, stdin: BinaryIO, content_type: ContentType | None = None
) -> list[SourceDocument]:
    """Every document the arguments name, in order, each file once; ``content_type`` forces the
    type. Raises UnreadableInput naming every path that could not be used."""
    documents: list[SourceDocument] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for source, path in _expand(paths, problems):
        if path is not None:
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
        try:
            data = stdin.read() if path is None else path.read_bytes()
            kind = content_type or content_type_of(source, data)
            documents.append(SourceDocument(source, decode(data, kind), kind))
        except (OSError, UnreadableInput) as exc:
            problems.append(f"{source}: {getattr(exc, 'strerror', None) or exc}")
    if problems:
        raise UnreadableInput("\n".join(problems))
    return documents


def _expand(paths: Sequence[str], problems: list[str]) -> Iterator[tuple[str, Path | None]]:
    """(source, path) for every file named, found in a folder or matched by a pattern;
    standard input has no path."""
    for argument in paths:
        if argument == STDIN:
            yield STDIN, None
            continue
        path = Path(argument)
        if path.is_file():
            yield argument, path
        elif path.is_dir():
            yield from ((str(found), found) for found in _documents_in(path))
        elif matches := sorted(glob.glob(argument, recursive=True)):
            for match in map(Path, matches):
                if match.is_dir():
                    yield from ((str(found), found) for found in _documents_in(match))
                elif match.is_file():
                    yield str(match), match
        else:
            problems.append(f"{argument}: no such file or folder, and no file matches it")


def _documents_in(folder: Path) -> list[Path]:
    """The text and HTML files under ``folder`` (by extension), hidden ones left out."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in HTML_SUFFIXES | TEXT_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def content_type_of(source: str, data: bytes) -> ContentType:
    """HTML or plain text: by the file's extension, else by whether it starts like markup."""
    suffix = Path(source).suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "text/html"
    if suffix in TEXT_SUFFIXES:
        return "text/plain"
    head = _without_bom(data[:SNIFF_BYTES]).lstrip()
    if head.startswith(b"<") and _HTML_TAG.search(head):
        return "text/html"
    return "text/plain"


def decode(data: bytes, content_type: ContentType) -> str:
    """The text of a file: by its byte-order mark, else the charset an HTML page declares, else
    UTF-8. Anything else is refused rather than guessed."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None and content_type == "text/html":
        declared = _META_CHARSET.search(data[:SNIFF_BYTES])
        if declared:
            encoding = declared.group(1).decode("ascii").lower()
    encoding = encoding or "utf-8"
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise UnreadableInput(f"declares the unknown charset {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableInput(
            f"not {encoding} text (byte {exc.start}); convert it to UTF-8"
            + (" or declare its charset" if content_type == "text/html" else "")
        ) from exc
    if "\x00" in text:
        raise UnreadableInput("holds NUL characters: not a text file")
    return text


def _without_bom(data: bytes) -> bytes:
    for bom, _ in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :]
    return data
