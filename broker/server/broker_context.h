// BrokerContext: what every shard of the broker reads — configuration, the metadata store, the
// reactor, and the per-shard services by shard id. Built by main() before the shards start and
// torn down after they stop.
//
// Threading: config and metadata are shared (the store locks internally; data paths only read
// snapshots). shards[i] belongs to shard i's thread: other shards reach it only by submitting work
// to shard i.
#pragma once

#include <memory>
#include <vector>

#include "broker/config/broker_config.h"
#include "coordination/metadata_store.h"

namespace ringbroker::reactor {
class Reactor;
}

namespace ringbroker::server {

class ShardServices;

struct BrokerContext {
  const config::BrokerConfig* config = nullptr;
  coordination::MetadataStore* metadata = nullptr;
  reactor::Reactor* reactor = nullptr;
  uint32_t shard_count = 1;
  std::vector<std::unique_ptr<ShardServices>> shards;
};

}  // namespace ringbroker::server
