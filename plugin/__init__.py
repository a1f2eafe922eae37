"""The app shops install: the Flask app (`create_app`) and the `shoprec` CLI."""
