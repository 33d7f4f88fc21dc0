"""Prism's distributed-lag experiment: launch the Procfile's processes, drive load, sample lag, inject faults, check, plot.

`scripts/lag-experiment` is the entry point; each module here does one job so the pieces can be
read, tested and replaced (netns.py/relay.py belong to the network-emulation side).
"""
