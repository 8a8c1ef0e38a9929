"""distilkit loadtest's overload mode: a full queue answers 503s, never a crash, and the server's memory stays flat."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from conftest import slow_predictor
from distilkit.deploy.loadtest import load_test
from distilkit.deploy.server import create_app, serve_in_thread


def test_overload_gets_503s_not_crashes(tiny_export: Path):
    app = create_app(slow_predictor(tiny_export, 0.05), max_batch=2, max_wait_ms=1, max_queue=2)
    with serve_in_thread(app) as url:
        result = asyncio.run(load_test(url, ["good film", "a dull plot"], requests=80, overload=True))
        assert httpx.get(f"{url}/health").status_code == 200  # alive after the storm
    assert result["concurrency"] >= 8  # 2 x (max_queue + max_batch): more in flight than the queue holds
    assert result["rejected"] > 0 and result["succeeded"] > 0 and result["failures"] == 0
    assert result["rejected"] + result["succeeded"] == 80 and set(result["statuses"]) == {"200", "503"}
    assert result["server_rss_mb_before"] > 0 and abs(result["server_rss_mb_after"] - result["server_rss_mb_before"]) < 50
