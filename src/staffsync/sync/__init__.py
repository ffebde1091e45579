"""The user sync process: FIS users pushed to SCView over SCIM 2.0."""
