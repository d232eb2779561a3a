"""SeatLock's database backend: see `base`."""
