"""SCView: a multi-tenant SCIM 2.0 service provider with Admin > Users pages."""
