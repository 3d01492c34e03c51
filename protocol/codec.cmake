# Owned by the codec work: rb_protocol_codec library, kafka-schema-dump, tests, fuzz target.
