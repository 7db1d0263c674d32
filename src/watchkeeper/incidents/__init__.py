"""Incidents: declaration, roles, timeline, status updates, blameless reviews, action items."""
