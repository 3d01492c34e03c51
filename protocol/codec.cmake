# The Kafka request/response codec: hand-written wire primitives (wire/) plus message code that
# codegen/gen.py generates at build time from schema/*.krb into the build tree only.
# Owned by the codec work: rb_protocol_codec, rb_protocol_codec_testing, kafka-schema-dump,
# the codec tests and the fuzz target.

set(RB_CODEC_GEN_ROOT ${CMAKE_CURRENT_BINARY_DIR}/gen)
set(RB_CODEC_GEN_DIR ${RB_CODEC_GEN_ROOT}/protocol/messages)
set(RB_CODEC_GENERATOR ${CMAKE_CURRENT_SOURCE_DIR}/codegen/gen.py)
file(GLOB RB_CODEC_SCHEMAS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/schema/*.krb)
list(SORT RB_CODEC_SCHEMAS)

set(RB_CODEC_GEN_SOURCES ${RB_CODEC_GEN_DIR}/api.cc ${RB_CODEC_GEN_DIR}/layout.cc)
set(RB_CODEC_GEN_HEADERS ${RB_CODEC_GEN_DIR}/api.h ${RB_CODEC_GEN_DIR}/all.h)
set(RB_CODEC_GEN_SAMPLE_SOURCES ${RB_CODEC_GEN_DIR}/sample.h)
foreach(schema IN LISTS RB_CODEC_SCHEMAS)
  get_filename_component(stem ${schema} NAME_WE)
  list(APPEND RB_CODEC_GEN_SOURCES ${RB_CODEC_GEN_DIR}/${stem}.cc)
  list(APPEND RB_CODEC_GEN_HEADERS ${RB_CODEC_GEN_DIR}/${stem}.h)
  list(APPEND RB_CODEC_GEN_SAMPLE_SOURCES ${RB_CODEC_GEN_DIR}/${stem}_sample.cc)
endforeach()

# gen.py rewrites only files whose content changed; Ninja's restat then skips recompiling the rest.
add_custom_command(
  OUTPUT ${RB_CODEC_GEN_SOURCES} ${RB_CODEC_GEN_HEADERS} ${RB_CODEC_GEN_SAMPLE_SOURCES}
  COMMAND ${Python3_EXECUTABLE} ${RB_CODEC_GENERATOR} --out ${RB_CODEC_GEN_ROOT} ${RB_CODEC_SCHEMAS}
  DEPENDS ${RB_CODEC_GENERATOR} ${RB_CODEC_SCHEMAS}
  COMMENT "Generating the Kafka message codec from protocol/schema"
  VERBATIM)
add_custom_target(rb_protocol_codec_gen
  DEPENDS ${RB_CODEC_GEN_SOURCES} ${RB_CODEC_GEN_HEADERS} ${RB_CODEC_GEN_SAMPLE_SOURCES})

add_library(rb_protocol_codec STATIC
  wire/reader.cc
  wire/request_frame.cc
  wire/types.cc
  wire/writer.cc
  ${RB_CODEC_GEN_SOURCES}
  ${RB_CODEC_GEN_HEADERS})
add_dependencies(rb_protocol_codec rb_protocol_codec_gen)
target_include_directories(rb_protocol_codec PUBLIC ${PROJECT_SOURCE_DIR} ${RB_CODEC_GEN_ROOT})
target_compile_options(rb_protocol_codec PRIVATE ${RINGBROKER_WARNINGS})
target_link_libraries(rb_protocol_codec PUBLIC absl::status absl::statusor absl::strings absl::span)

# FillSample() for every message: tests, benchmarks and fuzz seeds only, never the broker.
add_library(rb_protocol_codec_testing STATIC ${RB_CODEC_GEN_SAMPLE_SOURCES})
target_compile_options(rb_protocol_codec_testing PRIVATE ${RINGBROKER_WARNINGS})
target_link_libraries(rb_protocol_codec_testing PUBLIC rb_protocol_codec)

# Prints the codec's wire layout as JSON for ../shared/tools/check-protocol-schema.
add_executable(kafka-schema-dump codegen/schema_dump_main.cc)
target_compile_options(kafka-schema-dump PRIVATE ${RINGBROKER_WARNINGS})
target_link_libraries(kafka-schema-dump PRIVATE rb_protocol_codec)

# Tests.
ringbroker_test(protocol_wire_test wire/reader_test.cc wire/writer_test.cc)
target_link_libraries(protocol_wire_test PRIVATE rb_protocol_codec)
ringbroker_test(protocol_codec_test
  codegen/api_test.cc codegen/malformed_test.cc codegen/roundtrip_test.cc codegen/vectors_test.cc)
target_link_libraries(protocol_codec_test PRIVATE rb_protocol_codec_testing)

# The codec's layout against Kafka's own specs, when ../shared (checker and specs) exists.
set(RINGBROKER_SCHEMA_CHECKER "${PROJECT_SOURCE_DIR}/../shared/tools/check-protocol-schema"
  CACHE FILEPATH "check-protocol-schema tool; the schema test is skipped when it is absent")
add_test(NAME protocol_schema_check
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/run_schema_check.py
          $<TARGET_FILE:kafka-schema-dump> ${RINGBROKER_SCHEMA_CHECKER})
set_tests_properties(protocol_schema_check PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# Fuzzing (clang only): fuzz_request_decode plus a CTest run of ~60 s labelled "fuzz" on a seed
# corpus of one sample frame per API version. The codec itself gets coverage instrumentation.
# See protocol/README.md for longer runs.
if(RINGBROKER_FUZZ)
  set(RB_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_compile_options(rb_protocol_codec PRIVATE ${RB_FUZZ_FLAGS})
  target_link_options(rb_protocol_codec INTERFACE -fsanitize=address,undefined)

  add_executable(fuzz_request_decode fuzz/request_decode_fuzz.cc)
  target_compile_options(fuzz_request_decode PRIVATE ${RINGBROKER_WARNINGS}
    -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(fuzz_request_decode PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_request_decode PRIVATE rb_protocol_codec)

  add_executable(fuzz_request_decode_seeds fuzz/seed_corpus_main.cc)
  target_compile_options(fuzz_request_decode_seeds PRIVATE ${RINGBROKER_WARNINGS})
  target_link_libraries(fuzz_request_decode_seeds PRIVATE rb_protocol_codec_testing)

  set(RB_FUZZ_CORPUS ${CMAKE_CURRENT_BINARY_DIR}/fuzz_request_decode_corpus)
  add_test(NAME protocol_fuzz_seeds
    COMMAND $<TARGET_FILE:fuzz_request_decode_seeds> ${RB_FUZZ_CORPUS})
  add_test(NAME protocol_fuzz_request_decode
    COMMAND $<TARGET_FILE:fuzz_request_decode> -max_total_time=60 -rss_limit_mb=2048
            -timeout=10 -print_final_stats=1 ${RB_FUZZ_CORPUS})
  set_tests_properties(protocol_fuzz_seeds PROPERTIES LABELS fuzz FIXTURES_SETUP rb_fuzz_corpus)
  set_tests_properties(protocol_fuzz_request_decode PROPERTIES
    LABELS fuzz FIXTURES_REQUIRED rb_fuzz_corpus TIMEOUT 300)
endif()
