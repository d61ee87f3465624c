"""`make bench`: Roster (identity_service and the SCIM facade, real
processes on a real database) against scim2-server over the same datasets
of 1,000 to 1,000,000 users, driven by one client in the same run; and the
idle-streams benchmark of identity_service.

The machines are small and shared, so every target is a ratio of rows of
one run (or a bound the issue states), never an absolute number from
another day."""
