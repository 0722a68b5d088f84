"""The SIM-PIPE local stack: real upstream components run as local processes."""
