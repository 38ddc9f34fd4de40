"""Store and engagement connections: kinds, signing secrets and their rotation."""
