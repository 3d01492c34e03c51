# tools/test.sh puts this file in $MAKEFILES for `npm ci`, so every make under it reads it first.
# node-rdkafka's install runs node-gyp's make, which must stay serial: under -j its generated Makefile
# races ("No rule to make target '../deps/librdkafka/config.h'"). That make starts one more,
# `make -C librdkafka libs install`, at MAKELEVEL 1: the build of librdkafka itself, most of the
# install's time, which builds correctly in parallel; its own sub-makes share its job slots.
ifeq ($(MAKELEVEL),1)
MAKEFLAGS += -j$(or $(RINGBROKER_SUBMAKE_JOBS),1)
endif
