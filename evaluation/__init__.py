"""Offline measurements of newsdesk's stages against public evaluation data."""
