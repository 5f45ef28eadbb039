"""Parameter-server and collective gradient aggregation on plain numpy/cupy arrays."""
