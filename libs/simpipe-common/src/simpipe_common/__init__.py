"""Plumbing every SIM-PIPE service shares: settings, JSON logs, /health and /metrics,
the gRPC server bootstrap, dependency checks and the runner with graceful shutdown."""

from simpipe_common._nats_import import import_nats_without_aiohttp

# Before any module of a service imports nats (they all import simpipe_common
# first): see _nats_import.
import_nats_without_aiohttp()
