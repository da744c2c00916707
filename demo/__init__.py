"""The demo: the demo network and its history, the live orders of the day, `make demo`'s story
and the simulator. It drives the real services from above; no other app imports it."""
