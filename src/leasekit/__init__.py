"""leasekit: vehicle financing and leasing for lenders, dealers and integrators."""

__version__ = "0.1.0"
