"""What the application holds for its whole life: settings, database, clock, metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from watchkeeper.clock import Clock
from watchkeeper.db.engine import Database
from watchkeeper.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    secret_key: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # Long-lived collaborators registered by domains (ingest writer, engine, ...).
    services: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
