"""SIM-PIPE argo-watcher: the read model of runs and steps, live and archived."""
