"""Capture: launching cargo under the shim, reading what cargo and the shim report, live."""
