"""Markdown files as plain text: `**`, `#` or `[text](url)` would be analysed and exported as words. markdown-it-py
(installed with rich) parses; blocks become text as `reader.web` lays out a page: a paragraph each, a list or a
table one block of lines; images and raw HTML are left out."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_SPACES = re.compile(r"[^\S\n]+")


@dataclass(frozen=True)
class Converted:
    text: str
    title: str  # the first level-1 heading's text, or ''


@functools.cache
def parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def to_text(source: str) -> Converted:
    root = SyntaxTreeNode(parser().parse(source))
    title = next((inline(node) for node in root.walk() if node.type == "heading" and node.tag == "h1"), "")
    return Converted("\n\n".join(block for block in blocks(root.children) if block.strip()), title)


def blocks(nodes: list[SyntaxTreeNode]) -> Iterator[str]:
    for node in nodes:
        if node.type in ("heading", "paragraph"):
            yield inline(node)
        elif node.type in ("fence", "code_block"):
            yield node.content.rstrip("\n")
        elif node.type in ("bullet_list", "ordered_list"):
            yield "\n".join(list_lines(node, 0))
        elif node.type == "table":
            yield "\n".join(" · ".join(c for c in map(inline, row.children) if c) for row in node.walk()
                            if row.type == "tr")
        elif node.type == "blockquote":
            yield from blocks(node.children)
        # html_block, hr, front matter left by other parsers: not text


def list_lines(node: SyntaxTreeNode, depth: int) -> list[str]:
    """One line per item (`- ` or `N. `), nested lists indented two spaces a level."""
    lines: list[str] = []
    ordered = node.type == "ordered_list"
    for number, item in enumerate(node.children, int(node.attrs.get("start", 1)) if ordered else 1):
        marker = f"{number}. " if ordered else "- "
        first = True
        for child in item.children:
            if child.type in ("bullet_list", "ordered_list"):
                lines.extend(list_lines(child, depth + 1))
                continue
            for line in (line for text in blocks([child]) for line in text.split("\n")):
                lines.append("  " * depth + (marker if first else " " * len(marker)) + line)
                first = False
        if first:  # an empty item keeps its marker, so numbering stays visible
            lines.append("  " * depth + marker.rstrip())
    return lines


def inline(node: SyntaxTreeNode) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(_pieces(node)).split("\n"))
    return "\n".join(line for line in lines if line)


def _pieces(node: SyntaxTreeNode) -> Iterator[str]:
    """Inline text in order; images (their alt text) and raw HTML give nothing."""
    for child in node.children:
        if child.type in ("text", "code_inline"):
            yield child.content
        elif child.type == "softbreak":
            yield " "
        elif child.type == "hardbreak":
            yield "\n"
        elif child.type != "image":
            yield from _pieces(child)
