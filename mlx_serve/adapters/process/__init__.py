"""Operating-system processes, ports and PID files for background servers (stdlib only)."""
