"""The real-OpenStack test harness: installs, configures, starts and seeds real OpenStack 2026.1
services on 127.0.0.1 (what DevStack is to openstack.cloud's CI). See docs/realcloud.md.

Entry point: ``python -m realcloud.harness up|down|status|seed|logs [service]`` (with ``tests`` on
``sys.path``), or ``bash scripts/realcloud.sh ...``.
"""
