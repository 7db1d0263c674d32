"""Server-rendered pages over the same services the API uses."""
