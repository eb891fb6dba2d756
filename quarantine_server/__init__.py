"""The Central Quarantine Server: intake, encrypted quarantine, scanner, agent, alerts, API."""
