"""Writes models/data/text_topics_large.jsonl: the topic set of make_text_topics.py grown to 1040 sentences
(4 topics x 260; "split" alternates train/test: 520 test sentences, so one point is 5 sentences).

Same templates and word lists as make_text_topics.py (imported from it), seeded, reproducible:
`python models/data/make_text_topics_large.py`. A third of each topic's sentences stay "hard" (a
topic's subject with another topic's words); to have enough distinct hard sentences, they take one of
the original prefixes and also one of SUFFIXES (3 x 8 x 6 = 144 per topic, 86 used). The larger set
scores MiniLM in bench/real_models.py (eval_minilm); models/eval_text.py reads it when its DATA is
pointed here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import make_text_topics as small  # noqa: E402

SEED = 23
PER_CLASS = 260
OUT = Path(__file__).with_name("text_topics_large.jsonl")
SUFFIXES = ["", ", as expected", ", people said", ", for the second time", ", the radio reported",
            ", to nobody's surprise"]


def sentences(topic: str, rng: random.Random) -> list[str]:
    return small.sentences(topic, rng, PER_CLASS, small.PREFIXES, SUFFIXES)


def main() -> None:
    small.write(OUT, SEED, sentences)


if __name__ == "__main__":
    main()
