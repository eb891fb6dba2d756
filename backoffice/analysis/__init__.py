"""Deciding from a sample's content: classify, replicate on goats, extract, score, build definitions."""
