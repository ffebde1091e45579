"""staffsync: FIS (HR/Payroll) keeps SCView's users correct over SCIM 2.0."""

__version__ = "0.1.0"
