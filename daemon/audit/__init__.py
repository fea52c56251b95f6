"""The audit log's typed events, their JSON form, the hash chain and the head file."""
