"""The simulated services: one module each, each declaring a ``SIMULATED`` registration
(:class:`~..registry.Simulated`). Modules here are discovered by :func:`~..registry.registered`."""
