"""What tests of several parts share: the shared corpus's location and a client of the gateway's
HTTP contract that only tests need (the Quarantine Server has its own, quarantine_server.gateway)."""
