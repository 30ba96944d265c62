"""The pipeline steps, one module per stage: decide what happens, through the adapters."""
