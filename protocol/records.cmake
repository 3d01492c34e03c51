# Owned by the records work: rb_protocol_records library and its tests.
