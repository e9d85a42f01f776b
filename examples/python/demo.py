"""Plugins for the pyhost examples: plain Python, importable from a folder."""

import sys


def hello(name):
    """Demo 01: the host imports this module and calls a function."""
    return f"Hello, {name}! (Python {sys.version.split()[0]}, sys.executable={sys.executable})"


def word_count(text):
    counts = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts
