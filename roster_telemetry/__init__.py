"""What identity_service and the SCIM facade share to be observed: the
request table behind their Prometheus metrics, its HTTP listener, and their
log formats (decision 0020). It imports neither service, so the facade still
never sees identity_service's internals."""
