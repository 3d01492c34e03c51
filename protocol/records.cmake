# Owned by the records work: rb_protocol_records library and its tests.
# Record batches (v2), legacy message sets (v0/v1), CRC-32C and the compression codecs.
# Depends on abseil and zlib, zstd, lz4, snappy only; see records/README.md.
add_library(rb_protocol_records
  records/crc32c.cc
  records/crc32c_sse42.cc
  records/compression.cc
  records/record_batch.cc
  records/record_batch_builder.cc
  records/legacy_message_set.cc
)
target_include_directories(rb_protocol_records PUBLIC ${PROJECT_SOURCE_DIR})
target_compile_options(rb_protocol_records PRIVATE ${RINGBROKER_WARNINGS})
target_link_libraries(rb_protocol_records
  PUBLIC absl::status absl::statusor absl::span absl::strings absl::function_ref
  PRIVATE ZLIB::ZLIB PkgConfig::ZSTD PkgConfig::LZ4 ${SNAPPY_LIBRARY})

ringbroker_test(records_crc32c_test records/crc32c_test.cc)
target_link_libraries(records_crc32c_test PRIVATE rb_protocol_records)

ringbroker_test(records_compression_test records/compression_test.cc)
target_link_libraries(records_compression_test PRIVATE rb_protocol_records ${SNAPPY_LIBRARY})

ringbroker_test(records_varint_test records/varint_test.cc)
target_link_libraries(records_varint_test PRIVATE rb_protocol_records)

ringbroker_test(records_record_batch_test records/record_batch_test.cc)
target_link_libraries(records_record_batch_test PRIVATE rb_protocol_records)

ringbroker_test(records_legacy_message_set_test records/legacy_message_set_test.cc)
target_link_libraries(records_legacy_message_set_test PRIVATE rb_protocol_records ZLIB::ZLIB)

# Vectors written by kafka-python (records/testdata/make_vectors.py), read in place.
ringbroker_test(records_interop_test records/interop_test.cc)
target_link_libraries(records_interop_test PRIVATE rb_protocol_records)
target_compile_definitions(records_interop_test PRIVATE
  RINGBROKER_RECORDS_TESTDATA_DIR="${CMAKE_CURRENT_LIST_DIR}/records/testdata")

# Fuzzing (clang only): fuzz_records over every reader here, seeded with testdata/, plus a CTest
# run of ~30 s labelled "fuzz". Longer runs: build/protocol/fuzz_records -max_total_time=3600 <dir>.
if(RINGBROKER_FUZZ)
  set(RB_RECORDS_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_compile_options(rb_protocol_records PRIVATE ${RB_RECORDS_FUZZ_FLAGS})
  target_link_options(rb_protocol_records INTERFACE -fsanitize=address,undefined)

  add_executable(fuzz_records records/records_fuzz.cc)
  target_compile_options(fuzz_records PRIVATE ${RINGBROKER_WARNINGS}
    -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(fuzz_records PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_records PRIVATE rb_protocol_records)

  # libFuzzer writes new inputs into the first corpus folder: give it a scratch one, and read
  # the checked-in vectors from the second.
  set(RB_RECORDS_FUZZ_CORPUS ${CMAKE_CURRENT_BINARY_DIR}/fuzz_records_corpus)
  file(MAKE_DIRECTORY ${RB_RECORDS_FUZZ_CORPUS})
  add_test(NAME records_fuzz
    COMMAND $<TARGET_FILE:fuzz_records> -max_total_time=30 -rss_limit_mb=2048 -timeout=10
            -print_final_stats=1 ${RB_RECORDS_FUZZ_CORPUS} ${CMAKE_CURRENT_LIST_DIR}/records/testdata)
  set_tests_properties(records_fuzz PROPERTIES LABELS fuzz TIMEOUT 300)
endif()
