"""Plumbing every SIM-PIPE service shares: settings, JSON logs, /health and /metrics,
the gRPC server bootstrap, dependency checks and the runner with graceful shutdown."""
