"""Load and throughput benchmarks (`make bench`); never part of `make test`."""
