"""Process analytics over event logs. Imports nothing from Django."""

__all__: list[str] = []
