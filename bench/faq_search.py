"""FAQ search latency per query: the shipped FAQ and a synthetic 1,000-answer FAQ.

    python bench/faq_search.py [--rounds N]

Queries are the held-out question set in tests/data (members' questions as typed).
Prints its figures last as one JSON line. Target: p99 < 5 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.faq.content import Faq, Node, Ref, load_faq  # noqa: E402
from bot.faq.search import FaqIndex, tokenize  # noqa: E402


def synthetic_faq(shipped: Faq, answers: int, seed: int = 7) -> Faq:
    """A bigger FAQ made of the shipped one's own words, so term statistics stay realistic."""
    rng = random.Random(seed)
    words = {
        lang: sorted({w for n in shipped.answers for w in tokenize(n.answer_in(lang))})
        for lang in ("kk", "ru")
    }
    topics = [Node(id=t.id, title=dict(t.title), topic=t.id) for t in shipped.topics]
    nodes: dict[str, Node] = {t.id: t for t in topics}
    originals = shipped.answers
    for i in range(answers):
        base = originals[i % len(originals)]
        topic = nodes[base.topic]
        node = Node(
            id=f"syn-{i}",
            title={
                lang: base.title_in(lang) + " " + " ".join(rng.sample(words[lang], 3))
                for lang in ("kk", "ru")
            },
            topic=base.topic,
            parent=topic,
            answer={lang: " ".join(rng.choices(words[lang], k=140)) for lang in ("kk", "ru")},
            keywords={lang: rng.sample(words[lang], 8) for lang in ("kk", "ru")},
            refs=[Ref("ЕК 1-бап", "ТК ст. 1")],
        )
        topic.children.append(node)
        nodes[node.id] = node
    return Faq(topics, nodes)


def measure(index: FaqIndex, queries: list[str], rounds: int) -> dict[str, float]:
    for query in queries:  # warm-up
        index.search(query)
    samples = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter_ns()
            index.search(query, limit=3)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return {
        "answers": len(index.docs),
        "queries": len(samples),
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
        "max_ms": round(samples[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    questions = yaml.safe_load(
        (ROOT / "tests" / "data" / "search_questions.yaml").read_text(encoding="utf-8")
    )
    queries = [q["q"] for q in questions]
    shipped = load_faq()
    start = time.perf_counter()
    shipped_index = FaqIndex(shipped)
    shipped_build = time.perf_counter() - start
    start = time.perf_counter()
    big_index = FaqIndex(synthetic_faq(shipped, 1000))
    big_build = time.perf_counter() - start
    result = {
        "bench": "faq_search",
        "shipped": {
            **measure(shipped_index, queries, args.rounds),
            "build_s": round(shipped_build, 3),
        },
        "synthetic_1000": {
            **measure(big_index, queries, args.rounds),
            "build_s": round(big_build, 3),
        },
        "target_p99_ms": 5.0,
    }
    print(f"shipped FAQ: {result['shipped']}")
    print(f"synthetic 1,000 answers: {result['synthetic_1000']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
