"""Writes models/data/text_topics.jsonl: an offline text classification set (4 topics, 240 sentences).

How it was made: every sentence is generated here from hand-written templates and word lists (no
download, no other source), seeded, so the file is reproducible: `python models/data/make_text_topics.py`.
Classes: sports, weather, cooking, technology; 60 sentences each; "split" alternates train/test
within each class (30 + 30). A third of the sentences are "hard": they borrow words from another
topic (a chef's new phone, a match called off by rain), so an encoder's embeddings do not separate
the classes perfectly and a precision that bends them shows a drop.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 16
PER_CLASS = 60
OUT = Path(__file__).with_name("text_topics.jsonl")

TOPICS = {
    "sports": {
        "subjects": ["the home team", "our striker", "the young goalkeeper", "the tennis champion", "the relay squad",
                     "the visiting side", "the coach", "the captain", "the cyclist", "the boxer"],
        "verbs": ["scored twice in", "was sent off during", "trained hard before", "won the final of",
                  "lost narrowly in", "celebrated after", "was injured in", "broke the record at"],
        "objects": ["the league match", "the cup semi-final", "the marathon", "the derby", "the championship game",
                    "the penalty shoot-out", "the season opener", "the qualifying round"],
        "tails": ["in front of a full stadium", "after extra time", "despite a late goal", "with the fans singing",
                  "to climb the table", "before the transfer window closed"],
    },
    "weather": {
        "subjects": ["heavy rain", "a cold front", "the storm", "thick fog", "a heatwave", "strong winds",
                     "the first snow", "a thunderstorm", "light drizzle", "freezing temperatures"],
        "verbs": ["is expected across", "swept through", "will linger over", "brought flooding to", "settled over",
                  "is forecast for", "cleared away from", "caused delays in"],
        "objects": ["the coast", "the northern valleys", "the city overnight", "the mountain passes",
                    "the southern plains", "the harbour", "the region this weekend", "the islands"],
        "tails": ["with gusts near sixty miles an hour", "according to the forecasters", "before sunshine returns",
                  "and temperatures will drop below zero", "so carry an umbrella", "as the pressure falls"],
    },
    "cooking": {
        "subjects": ["the chef", "my grandmother", "the baker", "the recipe", "the restaurant kitchen",
                     "our cookbook", "the pastry cook", "the street vendor", "the new cafe", "the home cook"],
        "verbs": ["slowly roasted", "simmered", "kneaded and baked", "seasoned", "fried", "whisked together",
                  "marinated overnight", "served"],
        "objects": ["the lamb with rosemary", "a tomato sauce with garlic", "fresh sourdough bread",
                    "the onions in butter", "a lemon tart", "the eggs and sugar", "chicken with spices",
                    "a pot of lentil soup"],
        "tails": ["until golden brown", "for about forty minutes", "with a pinch of salt", "before adding the cream",
                  "and the kitchen smelled wonderful", "on a low heat"],
    },
    "technology": {
        "subjects": ["the new phone", "the software update", "the startup", "the laptop", "the search engine",
                     "the chip maker", "the app", "the cloud service", "the robot", "the operating system"],
        "verbs": ["added support for", "crashed while running", "was released with", "improved the speed of",
                  "leaked data from", "now ships with", "fixed a bug in", "was redesigned around"],
        "objects": ["the battery manager", "the graphics driver", "a faster processor", "the encryption library",
                    "the user accounts", "the wireless network", "the camera software", "the database"],
        "tails": ["according to the developers", "in the latest version", "after a security audit",
                  "for millions of users", "ahead of the product launch", "at the trade show"],
    },
}
# Hard sentences: a topic's subject with another topic's words (the label stays the subject's topic).
CROSS = {
    "sports": ["the match was called off because of the storm and the flooded pitch",
               "the team's new tracking app measured every sprint of the striker",
               "the players ate a pasta dinner cooked by the club chef before the final"],
    "weather": ["the heatwave forced the tennis final to start in the evening",
                "the storm knocked out the phone network and the servers went down",
                "the frost ruined the farmers' tomatoes before the harvest festival dinner"],
    "cooking": ["the chef streamed the recipe live from her new phone",
                "the baker's stall at the stadium sold pies to the football crowd",
                "the soup kept us warm while the snow fell all afternoon"],
    "technology": ["the smart oven's software burned the bread after an update",
                   "the weather app predicted the rain an hour too late",
                   "the broadcaster's video system failed during the cup final"],
}


PREFIXES = ["", "Yesterday ", "Reports say ", "Everyone noticed that ", "Last week ", "In the end ",
            "This morning ", "Once again "]  # 3 x 8 = 24 combinations for the 20 hard sentences


def sentences(topic: str, rng: random.Random, per_class: int = PER_CLASS, prefixes=PREFIXES,
              suffixes=None) -> list[str]:
    """`per_class` distinct sentences of `topic`, a third of them hard (the topic's subject with another
    topic's words, after a prefix and, where `suffixes` are given, before a suffix), shuffled."""
    words = TOPICS[topic]
    made = set()
    hard = per_class // 3
    out = []
    while len(out) < per_class - hard:
        text = (f"{rng.choice(words['subjects'])} {rng.choice(words['verbs'])} {rng.choice(words['objects'])} "
                f"{rng.choice(words['tails'])}.")
        if text not in made:
            made.add(text)
            out.append(text[0].upper() + text[1:])
    while len(out) < per_class:
        text = f"{rng.choice(prefixes)}{rng.choice(CROSS[topic])}{rng.choice(suffixes) if suffixes else ''}."
        if text not in made:
            made.add(text)
            out.append(text[0].upper() + text[1:])
    rng.shuffle(out)
    return out


def write(out: Path, seed: int, make=sentences) -> None:
    """Every topic's sentences (`make(topic, rng)`), alternately train and test, shuffled, as .jsonl."""
    rng = random.Random(seed)
    rows = []
    for topic in TOPICS:
        for index, text in enumerate(make(topic, rng)):
            rows.append({"text": text, "label": topic, "split": "train" if index % 2 == 0 else "test"})
    rng.shuffle(rows)
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"wrote {len(rows)} rows to {out}")


def main() -> None:
    write(OUT, SEED)


if __name__ == "__main__":
    main()
