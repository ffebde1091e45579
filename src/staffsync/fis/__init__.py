"""FIS: the HR/Payroll system, the source of truth."""
