"""Benchmarks: plain scripts printing one JSON line per figure."""
