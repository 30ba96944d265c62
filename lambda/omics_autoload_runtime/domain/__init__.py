"""Pure domain logic, standard library only and no AWS calls.

Classification, naming, pairing, sample sheets, limits, planning.
"""
