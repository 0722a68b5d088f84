"""SIM-PIPE's event contract: see contract.py."""
