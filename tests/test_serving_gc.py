"""A serving process collects garbage in bigger batches and leaves its startup objects alone."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from watchkeeper.app import SERVING_GC_THRESHOLDS, serving_app


def test_serving_app_tunes_the_garbage_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHKEEPER_DATABASE_URL", f"sqlite:///{tmp_path}/wk.db")
    monkeypatch.setenv("WATCHKEEPER_DATA_DIR", str(tmp_path))
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        app = serving_app()
        assert gc.get_threshold() == SERVING_GC_THRESHOLDS
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() > 0  # the app built so far is out of the collector's sight
        app.state.ctx.db.dispose()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
