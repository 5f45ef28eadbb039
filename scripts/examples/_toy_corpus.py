"""A small seeded corpus for the RNN examples: sentences from a tiny grammar (so a
language model has structure to learn) and no download. Real text: pass ``--data`` a
file with one sentence per line (Penn Treebank's ptb.train.txt format)."""

import random

_SUBJECTS = ["the cat", "a dog", "the old man", "my sister", "the bird", "a child"]
_VERBS = ["sees", "likes", "chases", "finds", "helps", "watches"]
_OBJECTS = [
    "the ball",
    "a red fish",
    "the small house",
    "her friend",
    "the tree",
    "a green apple",
    "the river",
]
_TAILS = ["", "today", "in the park", "every morning", "again and again"]


def sentences(count, seed=0):
    """``count`` sentences as lists of words."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = " ".join(
            [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS), rng.choice(_TAILS)]
        ).split()
        out.append(words)
    return out


def read_lines(path):
    """Sentences (lists of words) of a text file, one per non-empty line."""
    with open(path) as f:
        return [line.split() for line in f if line.strip()]
