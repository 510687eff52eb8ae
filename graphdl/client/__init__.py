"""Running graphs: sessions, feeds and fetches, pruning, the backend interface."""
