"""The Textual front end: the app, its screens, widgets, styles and key bindings (nothing below imports this)."""
