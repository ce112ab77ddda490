"""The live FAQ written back as the repository's YAML: one file per topic, the same format
`faq check` reads (bot/faq/CONTENT.md), so the lawyers' edits can be reviewed in git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.faq.content import LANGS, Faq, Node


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists indented under their key, as the shipped files are written.
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line answers as literal blocks (readable in a diff), the rest plain.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Flow(list[str]):
    """A short list written on one line, as the shipped files write keywords."""


class _Pair(dict[str, str]):
    """{kk: …, ru: …} on one line (titles of topics, references)."""


class _Quoted(str):
    """A reference, double-quoted as the shipped files write them."""


_Dumper.add_representer(str, _text)
_Dumper.add_representer(
    _Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)
_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _Pair, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True)
)


def _node(node: Node) -> dict[str, Any]:
    title = {lang: node.title[lang] for lang in LANGS}
    out: dict[str, Any] = {"id": node.id, "title": title if node.is_answer else _Pair(title)}
    if not node.is_answer:
        out["children"] = [_node(child) for child in node.children]
        return out
    assert node.answer is not None
    if any(node.keywords.get(lang) for lang in LANGS):
        out["keywords"] = {lang: _Flow(node.keywords.get(lang, [])) for lang in LANGS}
    out["answer"] = {lang: node.answer[lang] for lang in LANGS}
    out["refs"] = [_Pair({"kk": _Quoted(ref.kk), "ru": _Quoted(ref.ru)}) for ref in node.refs]
    return out


def write_yaml(faq: Faq, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in faq.topics:
        path = directory / f"{topic.id}.yaml"
        text = yaml.dump(
            _node(topic), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000
        )
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
