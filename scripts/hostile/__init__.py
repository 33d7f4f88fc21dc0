"""Hostile clients against a running Prism system (issue 9, "a bounded surface"), and the bound they
must stay within: a well-behaved client beside them keeps every request succeeding with a median
round trip within 3× of its unloaded value, and every process's RSS stays within 50 MB of where it
started. `scripts/netfuzz` throws random and mutated frames at every endpoint under the same bound.

The system is the lag experiment's (`lagexp.system`): the Procfile's processes on free ports.
"""
