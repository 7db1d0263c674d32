"""HTTP plumbing shared by every domain router: dependencies, errors, observability."""
