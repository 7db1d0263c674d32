"""Database layer: engine, sessions, column types and migrations."""
