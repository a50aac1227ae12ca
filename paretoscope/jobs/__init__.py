"""Orchestration in the background: the job queue, its runner, the demo launcher."""
