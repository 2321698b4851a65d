"""The CVAT v1 task backend's domain library: tasks, media, chunks, auth and storage.

Nothing here knows about Lambda events; handlers in functions/ translate events into calls
of these modules. Deployed as the shared Lambda layer (see shared/Makefile).
"""
