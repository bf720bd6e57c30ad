"""Workflows: one module per business process; `workflows.registry.WORKFLOWS` lists them for the worker.

Kept empty: the sandbox imports a workflow's package with its module for every run.
"""
