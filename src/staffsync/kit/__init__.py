"""Shared building blocks: database, migrations, settings, errors."""
