"""Lambda entry points, one module per function: parse the event, call the step, shape the reply."""
