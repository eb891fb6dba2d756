"""The whole loop on one machine: start every part, demonstrate it, replay fixture corpora."""
