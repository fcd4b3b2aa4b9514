"""The model as a consumer of an event stream (``make stream``): events in, one prediction per event out."""
