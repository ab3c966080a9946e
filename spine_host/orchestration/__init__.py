"""Orchestration: workflows, their runner and history, executors and the scheduler."""
