"""SIM-PIPE gateway: the GraphQL API over HTTP, /health and /metrics."""
