"""Domain types and errors: plain Python, shared by the service and the store."""
