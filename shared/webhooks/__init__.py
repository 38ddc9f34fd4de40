"""The webhook inbox: intake (verify, store, enqueue), handler registry, processing, sweeper."""
