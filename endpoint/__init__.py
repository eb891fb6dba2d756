"""The endpoint: simulated client computers with a local quarantine and Defcast receiver."""
