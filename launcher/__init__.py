"""distnet-launch: starts the scheduler, servers and workers of a distributed job."""
