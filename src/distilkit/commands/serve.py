"""``distilkit serve``: an HTTP JSON service for a model (POST /predict, GET /health, /metadata, /stats, /metrics)."""

from __future__ import annotations

import logging

from distilkit.config import ServeConfig
from distilkit.deploy.server import app_from_config, server_options

log = logging.getLogger(__name__)


def serve(cfg: ServeConfig) -> None:
    """Run the service in the foreground until interrupted (uvicorn, on ``cfg.host``: localhost by default)."""
    import uvicorn

    app = app_from_config(cfg)
    log.info("serving %s on http://%s:%d (docs at /docs)", cfg.model, cfg.host, cfg.port)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning", access_log=False, **server_options(cfg))
