"""The NER inference service: the spaCy model, in-process or served over gRPC."""
