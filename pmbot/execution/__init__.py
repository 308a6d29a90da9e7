"""Execution: turns the strategy's commands into venue requests and reports back; heartbeat and kill
switch."""
