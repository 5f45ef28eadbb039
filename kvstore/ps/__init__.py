"""The parameter server: protocol, scheduler, server, worker client, role entry points."""
