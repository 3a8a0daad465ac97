"""Loaded by every Python process the suite starts (``tests/netguard`` is on their ``PYTHONPATH``): the
same network guard as in the pytest process, writing its attempts to the log the suite reads."""

import os

if os.environ.get("MEDIAGEN_NETGUARD_LOG"):
    import netguard

    netguard.install()
