"""The baseline of the paint benchmark: the smallest Textual app that paints one line."""

from textual.app import App
from textual.widgets import Static


class Minimal(App):
    def compose(self):
        yield Static("minimal-app-ready")


if __name__ == "__main__":
    Minimal().run()
