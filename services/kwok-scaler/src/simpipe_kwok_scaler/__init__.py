"""SIM-PIPE kwok-scaler: virtual clusters of KWOK nodes, simulations and their results."""
