"""Training and fine-tuning with torch (the optional ``train`` extra)."""
