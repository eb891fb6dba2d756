"""The Quarantine Server's web application: intake for endpoints, the REST API."""
