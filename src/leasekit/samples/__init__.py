"""Sample files the demo copies for trying the API (an ID card photo to upload)."""
