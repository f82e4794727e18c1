"""reader: read news articles in the terminal, see spaCy's entities, annotate, export datasets."""

__version__ = "0.1.0"
