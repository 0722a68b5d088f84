"""SIM-PIPE metrics-collector: step metric series, run reports, scaling laws, predictions."""
