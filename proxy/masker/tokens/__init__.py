"""Tokens: the MSKV1 grammar, keys, the vault and AEAD codecs, request redaction and rehydration."""
