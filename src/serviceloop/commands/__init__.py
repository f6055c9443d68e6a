"""Subcommands of the ``serviceloop`` command, one module each; imported lazily by ``cli.py``."""
