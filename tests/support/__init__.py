"""What tests of several parts share: the one test world's configuration (world), the shared
corpus's location, a client of the gateway's
HTTP contract that only tests need (the Quarantine Server has its own, quarantine_server.gateway),
the one fake gateway with its vendor (fake_gateway), inert samples and marker signatures
(samples) and loopback WSGI servers (servers)."""
