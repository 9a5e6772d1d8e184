"""Plugins that ship with leasekit, registered first and the same way as third-party ones.

Each is a module of ``@hookimpl`` functions; :data:`leasekit.plugins.BUILTIN_PLUGINS` lists
them, and ``LEASEKIT_DISABLED_PLUGINS`` can block one by its module name.
"""
