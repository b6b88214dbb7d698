"""The digest's featured stories (filled in by the stories read-side work)."""
