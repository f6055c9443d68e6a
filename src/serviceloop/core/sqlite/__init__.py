"""Django's SQLite backend with two additions, see ``base``."""
